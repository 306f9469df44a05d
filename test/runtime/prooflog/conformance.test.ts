// Conformance with the reference implementation: a Go program built from golang.org/x/mod/sumdb/{note,tlog}
// (Debian golang-golang-x-mod-dev at /usr/share/gocode, GOPATH mode, no module proxy) verifies a live Meridian
// log — its checkpoint with note.Open, its root from C2SP tlog-tiles with tlog.TileHashReader, entry bundles
// against tiles, and our inclusion and consistency proofs against tlog.CheckRecord / tlog.CheckTree (and
// byte-for-byte against tlog.ProveRecord / tlog.ProveTree) — and notes signed by Go verify in Meridian.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { generateKey, newSigner, newVerifier, openNote, signNote } from "../../../runtime/prooflog/note.js";
import { openCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import type { TransparencyLog } from "../../../runtime/prooflog/log.js";
import type { FastifyInstance } from "fastify";

const run = promisify(execFile);
const GOCODE = "/usr/share/gocode";
const tmp = mkdtempSync(join(tmpdir(), "prooflog-go-"));
const bin = join(tmp, "verify");
const ORIGIN = "meridian.test/conformance";
const keys = generateKey(ORIGIN);
const N = 70_000; // the tlog-tiles example size: full and partial tiles on three levels
let app: FastifyInstance;
let log: TransparencyLog;
let url: string;
let oldRoot = "";

const go = async (args: string[], input?: string) => {
  if (input === undefined) return (await run(bin, args, { maxBuffer: 1 << 24 })).stdout;
  return execFileSync(bin, args, { input, encoding: "utf8" });
};

beforeAll(async () => {
  // Build the verifier from the reference packages only: GOPATH mode, modules and the proxy off.
  mkdirSync(join(tmp, "src", "meridianconformance"), { recursive: true });
  copyFileSync(fileURLToPath(new URL("./conformance/verify.go", import.meta.url)), join(tmp, "src", "meridianconformance", "main.go"));
  execFileSync("go", ["build", "-o", bin, "meridianconformance"], {
    cwd: tmp,
    env: { ...process.env, GOPATH: `${tmp}:${GOCODE}`, GO111MODULE: "off", GOPROXY: "off", GOFLAGS: "", GOTOOLCHAIN: "local", GOCACHE: join(tmp, "gocache") },
    stdio: "pipe",
  });
  ({ app, log, url } = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: join(tmp, "data"), port: 0, checkpointIntervalMs: 3_600_000, dedupeCapacity: 0 }));
  for (let at = 0; at < N; at += 10_000) await Promise.all(Array.from({ length: 10_000 }, (_, i) => log.add(Buffer.from(`go conformance ${at + i}`))));
  await log.publishCheckpoint();
  oldRoot = Buffer.from(await log.rootAt(1000)).toString("base64");
}, 120_000);

afterAll(async () => {
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("Go's golang.org/x/mod/sumdb/{note,tlog} accept Meridian's log", () => {
  it("opens the checkpoint, rebuilds its root from tlog-tiles, and checks our inclusion proofs", async () => {
    const out = await go(["log", url, keys.verifierKey, "0", "255", "256", "65535", "65536", "69999"]);
    expect(out).toMatch(/^ok note\.Open checkpoint meridian\.test\/conformance size 70000\n/);
    expect(out).toMatch(/ok tlog\.TreeHash from tiles equals the signed root/);
    expect(out.match(/^ok entry \d+: bundle hashes to the tile, tlog\.CheckRecord accepts Meridian's proof, identical to tlog\.ProveRecord$/gm)).toHaveLength(6);
  });

  it("checks our consistency proofs with tlog.CheckTree, byte for byte tlog.ProveTree's", async () => {
    expect(await go(["consistency", url, "1000", oldRoot, String(N)])).toMatch(/^ok consistency 1000 -> 70000: tlog\.CheckTree accepts Meridian's proof/);
    const root65536 = Buffer.from(await log.rootAt(65_536)).toString("base64");
    expect(await go(["consistency", url, "65536", root65536, String(N)])).toMatch(/^ok consistency 65536 -> 70000/);
  });

  it("fails when the proof does not match (the check can fail)", async () => {
    await expect(go(["consistency", url, "1000", Buffer.alloc(32, 9).toString("base64"), String(N)])).rejects.toMatchObject({ stdout: expect.stringMatching(/^FAIL tlog\.CheckTree/) });
  });

  it("notes signed by Go verify in Meridian, and Meridian's notes verify in Go", async () => {
    const [skey, vkey] = (await go(["keygen", "go.example/signer"])).trim().split("\n") as [string, string];
    const text = "hello from Go\nline two\n";
    const goSigned = await go(["sign", skey], text);
    expect(openNote(goSigned, [newVerifier(vkey)]).text).toBe(text);
    // Same key, same text: Ed25519 is deterministic, so both implementations produce the same bytes.
    expect(signNote(text, [newSigner(skey)])).toBe(goSigned);
    const ours = signNote("from Meridian\n", [newSigner(keys.signerKey)]);
    expect(await go(["open", keys.verifierKey], ours)).toBe("ok note.Open 1 signature(s)\nfrom Meridian\n");
    const cp = log.checkpoint().note;
    expect(openCheckpoint(cp, [newVerifier(keys.verifierKey)], ORIGIN).checkpoint.size).toBe(N);
    await expect(go(["open", keys.verifierKey], ours.replace("Meridian", "meridian"))).rejects.toThrow();
  });
});
