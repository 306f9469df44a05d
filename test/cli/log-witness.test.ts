// `meridian log witness` + `log serve --witness`: two witness processes cosign every checkpoint of a log process;
// after kill -9 of the log and of a witness, cosigning resumes from the witnesses' persisted state.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, serveCli } from "../cli.js";
import { LogClient } from "../../runtime/prooflog/client.js";
import { ALG_COSIGNATURE_V1, generateKey, newVerifier } from "../../runtime/prooflog/note.js";
import { newCosignatureVerifier } from "../../runtime/prooflog/witness/cosignature.js";
import { verifyQuorum } from "../../runtime/prooflog/witness/quorum.js";

const ORIGIN = "meridian.test/witnessed";
const dir = mkdtempSync(join(tmpdir(), "log-witness-"));
const logKey = generateKey(ORIGIN);
const wKeys = [generateKey("w1.test/witness", ALG_COSIGNATURE_V1), generateKey("w2.test/witness", ALG_COSIGNATURE_V1)];
writeFileSync(join(dir, "log.key"), logKey.signerKey);
wKeys.forEach((k, i) => writeFileSync(join(dir, `w${i}.key`), k.signerKey));

const start = serveCli;
const witness = (i: number, port = "0") => start(["log", "witness", "--key", join(dir, `w${i}.key`), "--log-vkey", logKey.verifierKey, "--data", join(dir, `w${i}`), "--port", port]);
const serve = (ws: string[]) =>
  start([
    "log",
    "serve",
    "--data",
    join(dir, "log"),
    "--port",
    "0",
    "--origin",
    ORIGIN,
    "--key",
    join(dir, "log.key"),
    "--checkpoint-interval",
    "20",
    ...ws.flatMap((w, i) => ["--witness", `${w}=${wKeys[i]!.verifierKey}`]),
  ]);

afterAll(() => {
  killServers();
});

async function cosignedAt(client: LogClient, size: number) {
  const wv = wKeys.map((k) => newCosignatureVerifier(k.verifierKey));
  for (let tries = 0; tries < 500; tries++) {
    const note = await client.checkpoint();
    try {
      const q = verifyQuorum(note, [newVerifier(logKey.verifierKey)], wv, 2, ORIGIN);
      if (q.checkpoint.size >= size) return q;
    } catch {
      // not yet cosigned by both
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no 2-of-2 cosigned checkpoint at size ≥ ${size}`);
}

describe("witnessed log", () => {
  it("every published checkpoint carries both witnesses' cosignatures, across crashes of log and witness", async () => {
    const w = await Promise.all([witness(0), witness(1)]);
    let log = await serve(w.map((x) => x.url));
    let client = new LogClient(log.url);
    for (let i = 0; i < 20; i++) await client.add(Buffer.from(`first ${i}`));
    const q1 = await cosignedAt(client, 20);
    expect(q1.witnesses.map((s) => s.name).sort()).toEqual(["w1.test/witness", "w2.test/witness"]);

    // Crash the log: on restart its witness pool starts from scratch, learns each witness's size from a 409,
    // and proves consistency from there.
    const dead = new Promise((r) => log.child.once("exit", r));
    log.child.kill("SIGKILL");
    await dead; // reaped, so its data-directory lock is visibly stale
    // Crash witness 1 too; it comes back on the same port with its persisted state.
    const port1 = new URL(w[1]!.url).port;
    const witnessDead = new Promise((r) => w[1]!.child.once("exit", r));
    w[1]!.child.kill("SIGKILL");
    await witnessDead; // its port is free once it has exited (a fixed 100 ms was a guess)
    w[1] = await witness(1, port1);
    log = await serve(w.map((x) => x.url));
    client = new LogClient(log.url);
    for (let i = 0; i < 30; i++) await client.add(Buffer.from(`second ${i}`));
    const q2 = await cosignedAt(client, 50);
    expect(q2.checkpoint.size).toBeGreaterThanOrEqual(50);
  });
});
