import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";

describe("meridian note", () => {
  const dir = mkdtempSync(join(tmpdir(), "note-cli-"));
  // Through the bin once: key generation and the printed lines as a shell gets them.
  const gen = runCli(["note", "keygen", "--name", "example.com/log"]);
  const [skey, vkey] = gen.stdout.trim().split("\n") as [string, string];
  const keyFile = join(dir, "log.key");
  writeFileSync(keyFile, `${skey}\n`);

  it("keygen prints the signer key line, then the verifier key line", async () => {
    expect(gen.status).toBe(0);
    expect(skey).toMatch(/^PRIVATE\+KEY\+example\.com\/log\+[0-9a-f]{8}\+/);
    expect(vkey).toMatch(/^example\.com\/log\+[0-9a-f]{8}\+/);
  });

  it("sign then verify round-trips; tampering, unknown and ambiguous keys exit non-zero with the reason", async () => {
    const signed = await runCliInProcess(["note", "sign", "--key", keyFile], { input: "hello\nworld\n" });
    expect(signed.status).toBe(0);
    expect(signed.stdout).toMatch(/^hello\nworld\n\n— example\.com\/log \S+\n$/);
    const ok = await runCliInProcess(["note", "verify", "--vkey", vkey], { input: signed.stdout });
    expect([ok.status, ok.stdout]).toEqual([0, "hello\nworld\n"]);

    const other = (await runCliInProcess(["note", "keygen", "--name", "example.com/log"])).stdout.trim().split("\n")[1]!;
    const unknown = await runCliInProcess(["note", "verify", "--vkey", other], { input: signed.stdout });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/unverified.*no signature from a known key/);

    const bad = await runCliInProcess(["note", "verify", "--vkey", vkey], { input: signed.stdout.replace("world", "World") });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/invalid-signature/);

    const malformed = await runCliInProcess(["note", "verify", "--vkey", vkey], { input: "hello\n" });
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toMatch(/malformed/);

    const ambiguous = await runCliInProcess(["note", "verify", "--vkey", vkey, "--vkey", vkey], { input: signed.stdout });
    expect(ambiguous.status).toBe(1);
    expect(ambiguous.stderr).toMatch(/ambiguous/);

    // A second key's signature is added alongside the first; either verifier accepts the note.
    const second = (await runCliInProcess(["note", "keygen", "--name", "witness.example/w1"])).stdout.trim().split("\n");
    writeFileSync(join(dir, "w.key"), second[0]!);
    const twice = await runCliInProcess(["note", "sign", "--key", join(dir, "w.key")], { input: signed.stdout });
    expect(twice.stdout.match(/^— /gm)).toHaveLength(2);
    expect((await runCliInProcess(["note", "verify", "--vkey", second[1]!], { input: twice.stdout })).status).toBe(0);
  });

  it("witness keys (--type cosignature) make C2SP cosignature/v1 signatures that verify", async () => {
    const [wsk, wvk] = (await runCliInProcess(["note", "keygen", "--name", "w.example/witness", "--type", "cosignature"])).stdout.trim().split("\n") as [string, string];
    expect(Buffer.from(wvk.split("+")[2]!, "base64")[0]).toBe(4);
    writeFileSync(join(dir, "wit.key"), wsk);
    const cosigned = await runCliInProcess(["note", "sign", "--key", join(dir, "wit.key")], { input: "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" });
    expect(cosigned.status).toBe(0);
    // keyID ‖ u64 timestamp ‖ 64-byte signature
    expect(Buffer.from(cosigned.stdout.trim().split(" ").pop()!, "base64")).toHaveLength(4 + 8 + 64);
    expect((await runCliInProcess(["note", "verify", "--vkey", wvk], { input: cosigned.stdout })).status).toBe(0);
    expect((await runCliInProcess(["note", "verify", "--vkey", wvk], { input: cosigned.stdout.replace("\n1\n", "\n2\n") })).status).toBe(1);
  });

  it("bad arguments are usage errors (exit 2)", async () => {
    expect((await runCliInProcess(["note", "keygen", "--name", "has space"])).status).toBe(2);
    expect((await runCliInProcess(["note", "sign", "--key", skey], { input: "x\n" })).status).toBe(2);
    expect((await runCliInProcess(["note", "verify", "--vkey", "nonsense"], { input: "x\n" })).status).toBe(2);
  });

  it("sign refuses a note whose signature line is malformed instead of signing it over as text", async () => {
    const signed = (await runCliInProcess(["note", "sign", "--key", keyFile], { input: "hello\n" })).stdout;
    for (const [bad, why] of [
      [signed.replace(/ (\S+)\n$/, " not*base64\n"), /signature line 1 .*not standard padded base64/],
      [signed.replace(/ (\S+)\n$/, " AAAA\n"), /signature line 1 .*3 bytes; it needs a 4-byte key ID/],
      [`${signed}—nospace AAAAAAAA\n`, /signature line 2 .*does not start with "— "/],
      [signed.slice(0, -1), /does not end in a newline/],
    ] as const) {
      const r = await runCliInProcess(["note", "sign", "--key", keyFile], { input: bad });
      expect(r.status, bad).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stdout).toBe("");
    }
  });
});
