// `meridian log serve|verify|proof|add` end to end: a served log, an outside verifier with saved state, and an
// offline tlog-proof that still verifies after the server is gone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, MERIDIAN_BIN, REPO_ROOT, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { LogClient } from "../../runtime/prooflog/client.js";
import { ALG_COSIGNATURE_V1, generateKey, newSigner } from "../../runtime/prooflog/note.js";
import { signCheckpoint } from "../../runtime/prooflog/checkpoint.js";
import { AuditTrail, monotonicTimestamps } from "../../runtime/prooflog/audit/audit.js";
import { ManualClock } from "../../runtime/common/clock.js";

const ORIGIN = "meridian.test/cli-log";
const dir = mkdtempSync(join(tmpdir(), "log-cli-"));
const keys = generateKey(ORIGIN);
writeFileSync(join(dir, "log.key"), keys.signerKey);
let child: ChildProcess;
let url = "";
let ready = { ready: false, service: "", url: "", pid: 0 };

beforeAll(async () => {
  child = spawn(process.execPath, [MERIDIAN_BIN, "log", "serve", "--data", join(dir, "data"), "--port", "0", "--origin", ORIGIN, "--key", join(dir, "log.key"), "--checkpoint-interval", "20"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      // The kit's ready line: one JSON object once the listener is bound.
      const line = /^(\{.*\})\n/m.exec(out)?.[1];
      if (line) {
        ready = JSON.parse(line) as typeof ready;
        resolve(ready.url);
      }
    });
    child.on("exit", (c) => reject(new Error(`serve exited ${c}`)));
  });
});
afterAll(() => {
  if (child.exitCode === null) child.kill("SIGKILL");
  killServers();
});

async function waitForSize(n: number): Promise<void> {
  for (;;) {
    const note = await new LogClient(url).checkpoint();
    if (Number(note.split("\n")[1]) >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
// runCli blocks this process, so the server must be (and is) a separate process.
const cli = (args: string[], input?: string) => runCliInProcess(args, input === undefined ? {} : { input });

describe("meridian log", () => {
  it("runs on the service kit: one ready line, /healthz, /readyz (writable, a checkpoint published), RED metrics per route", async () => {
    expect(ready).toMatchObject({ ready: true, service: "prooflog", pid: child.pid });
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ live: true, service: "prooflog" });
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toMatchObject({ ready: true, checks: { writable: "ok", checkpoint: "ok" } });
    await fetch(`${url}/checkpoint`);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^meridian_http_requests_total\{[^}]*route="\/checkpoint"[^}]*\} \d+/m);
    expect(metrics).toMatch(/meridian_service_ready\{[^}]*service="prooflog"[^}]*\} 1/);
  });

  it("add, verify with saved state, inclusion, offline proof, and clear failures", async () => {
    const client = new LogClient(url);
    const trail = new AuditTrail(client, monotonicTimestamps(new ManualClock(1_700_000_000_000)));
    for (let i = 0; i < 5; i++) await trail.record({ actor: "ops", action: "deploy", subject: `svc-${i}` });
    const added = await cli(["log", "add", "--log", url], "a plain entry\n");
    expect(added.status).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({ index: 5 });
    await waitForSize(6);

    const state = join(dir, "state.checkpoint");
    const first = await cli(["log", "verify", "--log", url, "--vkey", keys.verifierKey, "--state", state, "--index", "3"]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/ok: checkpoint meridian.test\/cli-log size 6/);
    expect(first.stdout).toMatch(/no saved checkpoint/);
    expect(first.stdout).toMatch(/entry 3 .* is included/);
    expect(first.stdout).toMatch(/audit event: .*"subject":"svc-3"/);
    writeFileSync(join(dir, "first.state"), readFileSync(state, "utf8"));

    for (let i = 0; i < 300; i++) await client.add(Buffer.from(`more ${i}`));
    await waitForSize(306);
    const second = await cli(["log", "verify", "--log", url, "--vkey", keys.verifierKey, "--state", state]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/consistent with the saved checkpoint at size 6/);
    // The same audit from tiles alone (no JSON proof endpoints).
    const viaTiles = await cli(["log", "verify", "--log", url, "--vkey", keys.verifierKey, "--state", join(dir, "tiles.state"), "--tiles", "--index", "300"]);
    expect(viaTiles.status, viaTiles.stderr).toBe(0);
    expect(viaTiles.stdout).toMatch(/entry 300 .* is included/);
    const tilesFrom6 = await cli(["log", "verify", "--log", url, "--vkey", keys.verifierKey, "--state", join(dir, "first.state"), "--tiles"]);
    expect(tilesFrom6.status, tilesFrom6.stderr).toBe(0);
    expect(tilesFrom6.stdout).toMatch(/consistent with the saved checkpoint at size 6/);

    const proofOut = await cli(["log", "proof", "--log", url, "--index", "260", "--entry-out", join(dir, "entry")]);
    expect(proofOut.status, proofOut.stderr).toBe(0);
    expect(proofOut.stdout).toMatch(/^c2sp\.org\/tlog-proof@v1\nindex 260\n/);
    writeFileSync(join(dir, "proof"), proofOut.stdout);
    expect(readFileSync(join(dir, "entry"), "utf8")).toBe("more 254");

    // A saved checkpoint the log cannot extend (a forged bigger tree under the same key) is a rollback.
    writeFileSync(join(dir, "forged"), signCheckpoint({ origin: ORIGIN, size: 10_000, root: Buffer.alloc(32, 7), extensions: [] }, [newSigner(keys.signerKey)]));
    const rollback = await cli(["log", "verify", "--log", url, "--vkey", keys.verifierKey, "--state", join(dir, "forged")]);
    expect(rollback.status).toBe(1);
    expect(rollback.stderr).toMatch(/rollback/);

    // A witness key is not a log key: `--vkey` refuses it; witnesses belong in a tlog-policy file.
    const witnessKey = generateKey("w.example/witness", ALG_COSIGNATURE_V1);
    const asLog = await cli(["log", "verify", "--log", url, "--vkey", witnessKey.verifierKey, "--state", join(dir, "sw")]);
    expect(asLog.status).toBe(2);
    expect(asLog.stderr).toMatch(/is a witness \(cosignature\) key: a checkpoint must be signed by the log's own key/);
    writeFileSync(join(dir, "none.policy"), `log ${keys.verifierKey}\nquorum none\n`);
    const byPolicy = await cli(["log", "verify", "--log", url, "--policy", join(dir, "none.policy"), "--state", join(dir, "sp1")]);
    expect(byPolicy.status, byPolicy.stderr).toBe(0);
    expect(byPolicy.stdout).toMatch(/witness quorum "none" met/);
    writeFileSync(join(dir, "w.policy"), `log ${keys.verifierKey}\nwitness W ${witnessKey.verifierKey}\nquorum W\n`);
    const unwitnessed = await cli(["log", "verify", "--log", url, "--policy", join(dir, "w.policy"), "--state", join(dir, "sp2")]);
    expect(unwitnessed.status).toBe(1);
    expect(unwitnessed.stderr).toMatch(/does not meet the policy's quorum "W" \(valid cosignatures from: none\)/);
    expect(existsSync(join(dir, "sp2"))).toBe(false); // never saved as trusted

    const stranger = await cli(["log", "verify", "--log", url, "--vkey", generateKey(ORIGIN).verifierKey, "--state", join(dir, "s2")]);
    expect(stranger.status).toBe(1);
    expect(stranger.stderr).toMatch(/no signature from a known key/);
    expect((await cli(["log", "verify", "--log", url, "--vkey", keys.verifierKey, "--state", join(dir, "s3"), "--index", "99999"])).stderr).toMatch(/not below the checkpoint size/);

    child.kill("SIGTERM");
    expect(await new Promise((r) => child.once("exit", r))).toBe(0); // drained, the log closed

    const offline = await cli(["log", "verify", "--vkey", keys.verifierKey, "--proof", join(dir, "proof"), "--entry", join(dir, "entry")]);
    expect(offline.status, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/ok: entry 260 is in meridian.test\/cli-log at size 306/);
    writeFileSync(join(dir, "wrong"), "more 255");
    const wrong = await cli(["log", "verify", "--vkey", keys.verifierKey, "--proof", join(dir, "proof"), "--entry", join(dir, "wrong")]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/mismatch/);
    const down = await cli(["log", "verify", "--log", url, "--vkey", keys.verifierKey, "--state", join(dir, "s4")]);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/cannot reach/);

    // One flipped byte in the stored tree: the log refuses to start, saying where, rather than truncating or re-signing.
    const tile = join(dir, "data", "public", "tile", "0", "000");
    const bytes = readFileSync(tile);
    bytes[1234]! ^= 0x40;
    writeFileSync(tile, bytes);
    const refused = await cli(["log", "serve", "--data", join(dir, "data"), "--port", "0", "--origin", ORIGIN, "--key", join(dir, "log.key")]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^meridian log serve: failed to start: refusing to start: file store .*: tile\/0\/000 does not hash to its entry in the tile above: the stored tile is corrupt\n$/);
    expect(refused.stdout).toBe("");
  });

  it("on a taken port: one line naming the port, exit 1, the store left unlocked", async () => {
    const { createServer } = await import("node:net");
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;
    const data = join(dir, "taken-port");
    const args = ["log", "serve", "--data", data, "--origin", ORIGIN, "--key", join(dir, "log.key"), "--port"];
    const r = await cli([...args, String(port)]);
    await new Promise<void>((done) => taken.close(() => done()));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toBe(`meridian log serve: cannot listen on 127.0.0.1:${port} (http): address already in use\n`);
    expect(r.stdout).toBe("");
    // The failed start closed the log: the same store opens again at once.
    const again = await serveCli([...args, "0"]);
    expect((await fetch(`${again.url}/checkpoint`)).status).toBe(200);
    again.child.kill("SIGTERM");
  });

  it("usage errors exit 2", async () => {
    expect((await cli(["log", "serve", "--port", "0", "--origin", ORIGIN, "--key", join(dir, "log.key")])).stderr).toMatch(
      /exactly one store: --data <dir> \(embedded\), --postgres <url> or --s3 <url>/,
    );
    expect((await cli(["log", "verify", "--vkey", keys.verifierKey])).status).toBe(2);
    // The rendered config file (--config) is checked by the log's own schema, naming the key.
    const serveWith = async (config: unknown, extra: string[] = []) => {
      writeFileSync(join(dir, "prooflog.json"), JSON.stringify(config));
      return await cli(["log", "serve", "--config", join(dir, "prooflog.json"), "--data", join(dir, "bad"), "--port", "0", "--key", join(dir, "log.key"), ...extra]);
    };
    const noKey = await serveWith({ origin: ORIGIN, witnesses: [{ name: "w", url: "https://w.example" }] });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(/prooflog\.json: witnesses\.0\.url: a cosigning witness needs both url and vkey/);
    expect((await serveWith({ origin: ORIGIN, extra: 1 })).stderr).toMatch(/Unrecognized key.*extra/);
    // A time reference measures the log's clock node, which needs a max offset.
    const noOffset = await serveWith({ origin: ORIGIN, timeReference: { grandmaster: "127.0.0.1:123" } });
    expect(noOffset.status).toBe(2);
    expect(noOffset.stderr).toMatch(/timeReference: a time reference measures the log's clock node: set maxOffsetMs too/);
    expect((await serveWith({ origin: ORIGIN, maxOffsetMs: 250, timeReference: { grandmaster: "grandmaster" } })).stderr).toMatch(/timeReference\.grandmaster: expected host:port/);
    expect((await serveWith({ origin: ORIGIN }, ["--origin", "other.example/log"])).stderr).toMatch(/--origin "other.example\/log" contradicts origin/);
    expect((await cli(["log", "serve", "--data", join(dir, "bad"), "--port", "0", "--key", join(dir, "log.key")])).stderr).toMatch(/give the checkpoint origin/);
    expect((await cli(["log", "proof", "--log", "http://127.0.0.1:1", "--index", "x"])).status).toBe(2);
  });
});
