// Crash safety: append over HTTP to a child-process log, kill -9 it mid-stream, restart it on the same data, and
// check every acknowledged index holds its entry and every checkpoint seen before the crash is consistent with
// the new one.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, serveCli } from "../../cli.js";
import { LogClient } from "../../../runtime/prooflog/client.js";
import { generateKey, newVerifier } from "../../../runtime/prooflog/note.js";
import { openCheckpoint, type Checkpoint } from "../../../runtime/prooflog/checkpoint.js";
import { verifyConsistency, verifyInclusion } from "../../../runtime/prooflog/proof/verify.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";

const ORIGIN = "meridian.test/crash";
const dir = mkdtempSync(join(tmpdir(), "prooflog-crash-"));
const keys = generateKey(ORIGIN);
writeFileSync(join(dir, "log.key"), keys.signerKey);
const verifier = newVerifier(keys.verifierKey);

const serve = () => serveCli(["log", "serve", "--data", join(dir, "data"), "--port", "0", "--origin", ORIGIN, "--key", join(dir, "log.key"), "--checkpoint-interval", "25"]);

afterAll(() => {
  killServers();
  rmSync(dir, { recursive: true, force: true });
});

describe("log crash safety", () => {
  it("kill -9 mid-stream loses no acknowledged entry and every earlier checkpoint stays consistent", async () => {
    const first = await serve();
    const client = new LogClient(first.url);
    const acked = new Map<number, Buffer>();
    const checkpoints: Checkpoint[] = [];
    let stop = false;
    let killed = false;
    let crashed: () => void = () => undefined;
    const crash = new Promise<void>((r) => (crashed = r));
    // Kill the instant an acknowledgement arrives (not on a timer): if an index were acknowledged before its batch
    // is durable, this is exactly when it would be lost.
    const maybeKill = () => {
      if (killed || acked.size < 1500 || new Set(checkpoints.map((c) => c.size)).size < 4) return;
      killed = true;
      first.child.kill("SIGKILL"); // 16 writers still have requests in flight
      stop = true;
      crashed();
    };

    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const entry = Buffer.from(`writer ${w} entry ${i} ${"x".repeat(i % 50)}`);
        try {
          const { index } = await client.add(entry);
          acked.set(index, entry);
          maybeKill();
        } catch {
          if (killed) return; // refused or cut off by the crash: never acknowledged
          throw new Error("add failed before the crash");
        }
      }
    };
    const poller = async () => {
      while (!stop) {
        try {
          checkpoints.push(openCheckpoint(await client.checkpoint(), [verifier], ORIGIN).checkpoint);
        } catch {
          if (killed) return;
        }
        await new Promise((r) => setTimeout(r, 15));
      }
    };
    const work = [...Array.from({ length: 16 }, (_, w) => writer(w)), poller()];
    await crash;
    await Promise.all(work);
    if (first.child.exitCode === null && first.child.signalCode === null) await new Promise((r) => first.child.once("exit", r));

    const second = await serve();
    const after = new LogClient(second.url);
    const now = openCheckpoint(await after.checkpoint(), [verifier], ORIGIN).checkpoint;
    const maxAcked = Math.max(...acked.keys());
    expect(now.size).toBeGreaterThan(maxAcked);

    // Every acknowledged index holds exactly the entry that was acknowledged, provably in the new tree.
    for (const [index, entry] of acked) {
      expect(await after.entry(index, now.size)).toEqual(entry);
    }
    const sample = [...acked.keys()].filter((_, i) => i % 97 === 0);
    for (const index of sample) verifyInclusion(index, now.size, leafHash(acked.get(index)!), await after.inclusionProof(index, now.size), now.root);

    // Every checkpoint published before the crash is a prefix of the recovered tree.
    const distinct = [...new Map(checkpoints.filter((c) => c.size > 0).map((c) => [c.size, c])).values()];
    expect(distinct.length).toBeGreaterThanOrEqual(3);
    for (const cp of distinct) verifyConsistency(cp.size, now.size, await after.consistencyProof(cp.size, now.size), cp.root, now.root);
    second.child.kill("SIGTERM");
  });
});
