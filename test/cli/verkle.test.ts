import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliInProcess } from "../cli-in-process.js";

const key = (first: number, suffix: number) => `0x${first.toString(16).padStart(2, "0")}${"00".repeat(30)}${suffix.toString(16).padStart(2, "0")}`;

describe("meridian verkle root / prove / verify", () => {
  const dir = mkdtempSync(join(tmpdir(), "verkle-cli-"));
  const save = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const entries = save("entries.json", JSON.stringify({ [key(1, 0)]: "one", [key(1, 1)]: "0x0202", [key(2, 0)]: "two" }));

  it("root is the same for an object and for pairs in another order; prove and verify round-trip", async () => {
    const root = await runCliInProcess(["verkle", "root", entries]);
    expect(root).toMatchObject({ status: 0, stdout: expect.stringMatching(/^0x[0-9a-f]{96}\n$/) });
    const pairs = save(
      "pairs.json",
      JSON.stringify([
        [key(2, 0), "two"],
        [key(1, 1), "0x0202"],
        [key(1, 0), "one"],
      ]),
    );
    expect((await runCliInProcess(["verkle", "root", pairs])).stdout).toBe(root.stdout);
    const R = root.stdout.trim();

    const p = await runCliInProcess(["verkle", "prove", entries, key(1, 0), key(1, 5), key(3, 0)]);
    expect(p.status).toBe(0);
    const proof = JSON.parse(p.stdout) as { root: string; entries: { key: string; value: string | null }[]; bytes: number; proof: { commitments: string[] } };
    expect(proof.root).toBe(R);
    expect(proof.entries).toEqual([
      { key: key(1, 0), value: "0x6f6e65" },
      { key: key(1, 5), value: null },
      { key: key(3, 0), value: null },
    ]);
    expect(proof.bytes).toBe(3 + 48 * proof.proof.commitments.length + 96);
    const f = save("proof.json", p.stdout);
    expect(await runCliInProcess(["verkle", "verify", R, f])).toMatchObject({ status: 0, stdout: `${key(1, 0)} 0x6f6e65\n${key(1, 5)} absent\n${key(3, 0)} absent\n` });

    // A changed value, a changed commitment, another root: refused, exit 1, naming why.
    const lie = structuredClone(proof);
    lie.entries[0]!.value = "0x6f6e66";
    const refused = await runCliInProcess(["verkle", "verify", R, save("lie.json", JSON.stringify(lie))]);
    expect(refused).toMatchObject({ status: 1, stderr: expect.stringMatching(/proof refused: the openings do not verify against the root/) });
    const bent = structuredClone(proof);
    bent.proof.commitments[0] = `0x${"ab".repeat(48)}`;
    expect(await runCliInProcess(["verkle", "verify", R, save("bent.json", JSON.stringify(bent))])).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/proof refused: commitment 0 is not a valid G1 point/),
    });
    const otherRoot = (await runCliInProcess(["verkle", "root", save("other.json", JSON.stringify({ [key(1, 0)]: "one" }))])).stdout.trim();
    expect((await runCliInProcess(["verkle", "verify", otherRoot, f])).status).toBe(1);
  });

  it("bad input is a usage error naming what is wrong", async () => {
    const short = await runCliInProcess(["verkle", "root", save("short.json", JSON.stringify({ "0x01": "x" }))]);
    expect(short.status).toBe(2);
    expect(short.stderr).toMatch(/short\.json: key "0x01" is not a 32-byte key/);
    expect(await runCliInProcess(["verkle", "prove", entries, "0x01"])).toMatchObject({ status: 2, stderr: expect.stringMatching(/KEY 0x01: expected a 32-byte key/) });
    expect(await runCliInProcess(["verkle", "prove", entries, key(1, 0), key(1, 0)])).toMatchObject({ status: 2, stderr: expect.stringContaining(`KEY ${key(1, 0)} is given twice`) });
    expect(await runCliInProcess(["verkle", "verify", "0x12", entries])).toMatchObject({ status: 2, stderr: expect.stringMatching(/ROOT 0x12: expected a 48-byte commitment/) });
    expect(await runCliInProcess(["verkle", "verify", `0x${"00".repeat(48)}`, entries])).toMatchObject({ status: 2, stderr: expect.stringMatching(/not a Verkle proof/) });
  });
});
