import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliInProcess } from "../cli-in-process.js";

const FILE = "test/testdata/ethereum-trietests/trieanyorder.json";
const SECURE_FILE = "test/testdata/ethereum-trietests/trieanyorder_secureTrie.json";
const DOGS_ROOT = "0x8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3";

describe("meridian mpt prove / verify", () => {
  const dir = mkdtempSync(join(tmpdir(), "mpt-cli-"));
  const save = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it("prove prints eth_getProof's node list; verify prints the value, or absent", async () => {
    const p = await runCliInProcess(["mpt", "prove", FILE, "dog", "--case", "dogs"]);
    expect(p.status).toBe(0);
    const proof = JSON.parse(p.stdout) as { root: string; key: string; value: string; proof: string[] };
    expect(proof).toMatchObject({ root: DOGS_ROOT, key: "0x646f67", secure: false, value: "0x7075707079" });
    const f = save("dog.json", p.stdout);
    expect(await runCliInProcess(["mpt", "verify", DOGS_ROOT, "dog", f])).toMatchObject({ status: 0, stdout: "0x7075707079\n" });
    // A plain array of nodes (eth_getProof's accountProof) is accepted too.
    expect(await runCliInProcess(["mpt", "verify", DOGS_ROOT, "0x646f67", save("plain.json", JSON.stringify(proof.proof))])).toMatchObject({ status: 0, stdout: "0x7075707079\n" });

    const absent = save("cat.json", (await runCliInProcess(["mpt", "prove", FILE, "cat", "--case", "dogs"])).stdout);
    expect(await runCliInProcess(["mpt", "verify", DOGS_ROOT, "cat", absent])).toMatchObject({ status: 0, stdout: "absent\n" });
  });

  it("verify exits 1 naming the problem for a tampered proof, a wrong key or root", async () => {
    const good = (await runCliInProcess(["mpt", "prove", FILE, "dog", "--case", "dogs"])).stdout;
    const proof = JSON.parse(good) as { proof: string[] };
    const last = proof.proof.at(-1)!;
    proof.proof[proof.proof.length - 1] = last.replace(/7075707079$/, "7075707078");
    const tampered = await runCliInProcess(["mpt", "verify", DOGS_ROOT, "dog", save("tampered.json", JSON.stringify(proof))]);
    expect(tampered.status).toBe(1);
    expect(tampered.stderr).toMatch(/proof refused: proof lacks the node with hash 0x[0-9a-f]{64} at nibble \d+/);

    const f = save("good.json", good);
    const otherRoot = `0x${"11".repeat(32)}`;
    expect((await runCliInProcess(["mpt", "verify", otherRoot, "dog", f])).stderr).toMatch(/proof lacks the node with hash 0x1111.* for the root/);
    const wrongKey = await runCliInProcess(["mpt", "verify", DOGS_ROOT, "doe", f]);
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.stderr).toMatch(/proof refused/);
  });

  it("secure tries: --secure on both sides, and a mismatch is a usage error", async () => {
    const p = await runCliInProcess(["mpt", "prove", SECURE_FILE, "doge", "--case", "puppy", "--secure"]);
    expect(p.status).toBe(0);
    const root = (JSON.parse(p.stdout) as { root: string }).root;
    expect(root).toBe("0x29b235a58c3c25ab83010c327d5932bcf05324b7d6b1185e650798034783ca9d");
    const f = save("secure.json", p.stdout);
    expect(await runCliInProcess(["mpt", "verify", root, "doge", f, "--secure"])).toMatchObject({ status: 0, stdout: `0x${Buffer.from("coin").toString("hex")}\n` });
    const mismatch = await runCliInProcess(["mpt", "verify", root, "doge", f]);
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).toMatch(/made for a secure trie; pass --secure/);
  });

  it("bad input is a usage error (exit 2) naming what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [["mpt", "root", join(dir, "missing.json")], /FILE .*missing\.json: cannot read it \(ENOENT\)/],
      [["mpt", "root", FILE], /holds 7 cases; choose one with --case \(singleItem, dogs/],
      [["mpt", "root", FILE, "--case", "cats"], /--case cats: no such case/],
      [["mpt", "root", save("badhex.json", '{"in": {"0xabc": "x"}}')], /"0xabc" starts with 0x but is not whole bytes of hex/],
      [["mpt", "root", save("badval.json", '{"in": {"a": 5}}')], /not a TrieTests case: in/],
      [["mpt", "root", save("notjson.json", "{")], /not JSON/],
      [["mpt", "verify", "0x1234", "dog", FILE], /ROOT 0x1234: expected 32 bytes, got 2/],
      [["mpt", "verify", DOGS_ROOT, "dog", FILE], /expected an array of 0x-hex nodes or an object with "proof"/],
      [["mpt", "prove", FILE], /missing required argument 'key'/],
      [["mpt", "prove-range", FILE, "z", "a", "--case", "dogs"], /LO z is above HI a/],
      [["mpt", "serve", "--data", dir, "--postgres", "postgres://127.0.0.1/x"], /--data and --postgres: give one store/],
      [["mpt", "serve", "--postgres", "mysql://127.0.0.1/x"], /--postgres: got "mysql:\/\/127\.0\.0\.1\/x"; expected postgres:\/\//],
    ];
    for (const [args, err] of cases) {
      const r = await runCliInProcess(args);
      expect([r.status, r.stderr], args.join(" ")).toEqual([2, expect.stringMatching(err)]);
    }
  });
});

describe("meridian mpt prove-range / verify-range", () => {
  const dir = mkdtempSync(join(tmpdir(), "mpt-range-"));

  it("proves a range complete; verify-range refuses it with an entry dropped from the middle", async () => {
    const p = await runCliInProcess(["mpt", "prove-range", FILE, "do", "dogz", "--case", "puppy"]);
    expect(p.status).toBe(0);
    const proof = JSON.parse(p.stdout) as { root: string; entries: [string, string][] };
    const hexOf = (s: string) => `0x${Buffer.from(s).toString("hex")}`;
    expect(proof.entries.map(([k]) => k)).toEqual(["do", "dog", "doge"].map(hexOf));
    const f = join(dir, "range.json");
    writeFileSync(f, p.stdout);
    const ok = await runCliInProcess(["mpt", "verify-range", proof.root, f]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^complete: 3 entries in \[0x646f, 0x646f677a\]\n0x646f 0x76657262\n/);

    proof.entries.splice(1, 1);
    const g = join(dir, "dropped.json");
    writeFileSync(g, JSON.stringify(proof));
    const refused = await runCliInProcess(["mpt", "verify-range", proof.root, g]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/proof refused: .*an entry in the range was dropped, added or altered/);
    expect(JSON.parse(readFileSync(f, "utf8"))).toHaveProperty("proof");
  });
});
