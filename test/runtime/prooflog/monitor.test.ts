// The monitor: follows a live log under a policy, checks every entry against the signed root, gossips with a
// peer, and publishes equivocation evidence only when it holds two log-signed roots for one size.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../../runtime/common/clock.js";
import { startService } from "../../../runtime/kit/index.js";
import { generateKey, LogClient, newSigner, signCheckpoint, verifyEquivocation, newVerifier, type Equivocation } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/services.js";
import { monitorService } from "../../../runtime/prooflog/monitor/service.js";

const ORIGIN = "meridian.test/monitor";
const keys = generateKey(ORIGIN);
let logServer: Awaited<ReturnType<typeof startLogServer>>;
const startMonitor = (config: Record<string, unknown>) => startService(monitorService, { ...config, server: { port: 0 } }, { clock: systemClock, processMetrics: false });
type Monitor = Awaited<ReturnType<typeof startMonitor>>;
const monitors: Monitor[] = [];

beforeAll(async () => {
  logServer = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: mkdtempSync(join(tmpdir(), "monitor-log-")), port: 0, checkpointIntervalMs: 10 });
  const policy = `log ${keys.verifierKey}\nquorum none\n`;
  const b = await startMonitor({ log: logServer.url, policy, intervalMs: 3_600_000 });
  const a = await startMonitor({ log: logServer.url, policy, peers: [b.url], intervalMs: 3_600_000 });
  monitors.push(a, b);
});
afterAll(async () => {
  for (const m of monitors) await m.close();
  await logServer.app.close();
});

const status = async (m: Monitor) => (await (await fetch(`${m.url}/v1/status`)).json()) as { size: number | null; entriesChecked: number; lastError: string | null; equivocations: number };

describe("log monitor", () => {
  it("follows the log and checks every entry against the signed root; gossip reaches its peer", async () => {
    const client = new LogClient(logServer.url);
    await Promise.all(Array.from({ length: 300 }, (_, i) => client.add(Buffer.from(`watched ${i}`))));
    await logServer.log.publishCheckpoint();
    const [a, b] = monitors as [Monitor, Monitor];
    await a.parts.poll();
    expect(await status(a)).toMatchObject({ size: 300, entriesChecked: 300, lastError: null, equivocations: 0 });
    expect((await (await fetch(`${a.url}/v1/checkpoint`)).text()).split("\n")[1]).toBe("300");
    await b.parts.poll();
    expect((await status(b)).size).toBe(300);
  });

  it("publishes evidence for a second signed root at a size, and only for that", async () => {
    const [a, b] = monitors as [Monitor, Monitor];
    const gossip = (m: Monitor, note: string) => fetch(`${m.url}/v1/gossip`, { method: "POST", headers: { "content-type": "text/plain" }, body: note });
    // Replaying the log's own older checkpoint, or junk, proves nothing.
    expect((await gossip(b, logServer.log.checkpoint().note)).status).toBe(200);
    expect((await gossip(b, "junk\n")).status).toBe(400);
    expect((await gossip(b, signCheckpoint({ origin: ORIGIN, size: 300, root: Buffer.alloc(32, 1), extensions: [] }, [newSigner(generateKey(ORIGIN).signerKey)]))).status).toBe(400);
    expect(await (await fetch(`${b.url}/v1/evidence`)).json()).toEqual([]);
    // The log's key signs another root for size 300 (a split view shown to someone): evidence.
    const forked = signCheckpoint({ origin: ORIGIN, size: 300, root: Buffer.alloc(32, 7), extensions: [] }, [newSigner(keys.signerKey)]);
    const r = (await (await gossip(b, forked)).json()) as { equivocation: boolean };
    expect(r.equivocation).toBe(true);
    const evidence = (await (await fetch(`${b.url}/v1/evidence`)).json()) as Equivocation[];
    expect(evidence.map((e) => e.size)).toEqual([300]);
    expect(verifyEquivocation(evidence[0]!, [newVerifier(keys.verifierKey)])).toBe(true);
    expect((await status(a)).equivocations).toBe(0);
  });

  it("keeps its evidence and the last verified checkpoint across a restart; a log that rolled back is refused, a doctored state file stops the start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "monitor-state-"));
    const stateFile = join(dir, "state.json");
    const policy = `log ${keys.verifierKey}\nquorum none\n`;
    const first = await startMonitor({ log: logServer.url, policy, intervalMs: 3_600_000, stateFile });
    await first.parts.poll();
    const size = (await status(first)).size!;
    const forked = signCheckpoint({ origin: ORIGIN, size, root: Buffer.alloc(32, 9), extensions: [] }, [newSigner(keys.signerKey)]);
    await fetch(`${first.url}/v1/gossip`, { method: "POST", headers: { "content-type": "text/plain" }, body: forked });
    await first.close(); // kill -9 is the same here: the state is written (fsync, rename) before the round or gossip answers

    // Restarted: the evidence is still there, on /v1/evidence and on the alert's metric.
    const second = await startMonitor({ log: logServer.url, policy, intervalMs: 3_600_000, stateFile });
    monitors.push(second);
    expect(((await (await fetch(`${second.url}/v1/evidence`)).json()) as Equivocation[]).map((e) => e.size)).toEqual([size]);
    expect(await (await fetch(`${second.url}/metrics`)).text()).toMatch(/^meridian_monitor_equivocations_total(\{[^}]*\})? 1$/m);

    // The log comes back from an older snapshot, re-signing a smaller tree with the same key (a fork): a monitor that
    // kept its checkpoint refuses it; one that forgot (no state file) would accept it.
    const rolledBack = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: mkdtempSync(join(tmpdir(), "monitor-rolled-")), port: 0, checkpointIntervalMs: 10 });
    try {
      const client = new LogClient(rolledBack.url);
      await Promise.all(Array.from({ length: 5 }, (_, i) => client.add(Buffer.from(`rewritten ${i}`))));
      await rolledBack.log.publishCheckpoint();
      const kept = await startMonitor({ log: rolledBack.url, policy, intervalMs: 3_600_000, stateFile });
      const forgot = await startMonitor({ log: rolledBack.url, policy, intervalMs: 3_600_000 });
      monitors.push(kept, forgot);
      await kept.parts.poll();
      await forgot.parts.poll();
      expect(await status(forgot)).toMatchObject({ size: 5, lastError: null });
      const s = await status(kept);
      expect(s.size).toBeNull(); // nothing verified this run: the smaller tree is not taken
      expect(s.lastError).toContain(`rollback: the log now claims size 5, but size ${size} was seen before`);
    } finally {
      await rolledBack.app.close();
    }

    // A state file whose evidence is not two log-signed roots (here: one note swapped for an unsigned copy) is refused.
    const doctored = JSON.parse(readFileSync(stateFile, "utf8")) as { evidence: Equivocation[] };
    doctored.evidence[0]!.notes[1] = doctored.evidence[0]!.notes[0].replace(/\n\n[\s\S]*$/, "\n\n");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify(doctored));
    await expect(startMonitor({ log: logServer.url, policy, intervalMs: 3_600_000, stateFile: bad })).rejects.toThrow(/bad\.json.*evidence at size/);
  });
});
