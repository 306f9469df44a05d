// `meridian log serve` with its clock measured against a real grandmaster (config timeReference, as the workload
// renders it): with the grandmaster's ε inflated by the operator drill, a checkpoint carries a time that TrueTime's
// earliest has already passed by the time anyone can read it (commit-wait), and the wait is on /metrics. Against
// a reference that never answers, the log still starts but holds its checkpoint back, naming why.
import { createSocket } from "node:dgram";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TIME_METRICS } from "../../../model/time/metrics.js";
import { ClockNode, grandmasterService } from "../../../runtime/clock/index.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { generateKey, parseCheckpoint, parseSignedNote } from "../../../runtime/prooflog/index.js";
import { checkpointTimeOf, startLogServer } from "../../../runtime/prooflog/services.js";

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

const origin = "meridian.test/log-time";
async function serve(node: ClockNode, port: number) {
  const { signerKey } = generateKey(origin);
  const s = await startLogServer({
    origin,
    signerKey,
    dataDir: mkdtempSync(join(tmpdir(), "log-time-")),
    port: 0,
    checkpointIntervalMs: 20,
    hlc: node,
    timeReference: { grandmaster: { host: "127.0.0.1", port }, syncIntervalMs: 100 },
    notice: () => undefined,
  });
  closers.push(() => s.app.close());
  return s.url;
}
const metric = (text: string, name: string) => Number(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[2]);

describe("the proof log's time reference", () => {
  it("commit-waits each checkpoint on TrueTime measured against the grandmaster (ε inflated by the drill)", async () => {
    const op = await localOperatorAuth(systemClock);
    const gm = await startService(grandmasterService, { ntp: { port: 0 }, server: { port: 0, auth: op.auth } }, { processMetrics: false });
    closers.push(() => gm.close());
    const drill = await fetch(`${gm.url}/drills/inflate`, {
      method: "POST",
      headers: { authorization: `Bearer ${await op.token()}`, "content-type": "application/json" },
      body: JSON.stringify({ epsilonMs: 300, durationSeconds: 600 }),
    });
    expect(drill.status).toBe(200);
    // A max offset of 1 s: the inflated ε is within the freeze threshold, so checkpoints wait rather than stop.
    const node = new ClockNode({ clock: systemClock, maxOffsetMs: 1000 });
    const url = await serve(node, Number(new URL(gm.endpoints["ntp"]!).port));
    expect(node.truetime.epsilonMs()).toBeGreaterThanOrEqual(300); // measured before the log opened

    expect((await fetch(`${url}/add`, { method: "POST", body: "an entry" })).status).toBe(200);
    let note = "";
    for (let i = 0; i < 200 && !note.startsWith(`${origin}\n1\n`); i++) {
      const res = await fetch(`${url}/checkpoint`);
      note = res.ok ? await res.text() : "";
      if (!note.startsWith(`${origin}\n1\n`)) await new Promise((r) => setTimeout(r, 50));
    }
    const time = checkpointTimeOf(parseCheckpoint(parseSignedNote(note).text));
    // Readable only after commit-wait: the time it carries is already definitely in the past.
    expect(time).not.toBeNull();
    expect(node.truetime.now().earliest).toBeGreaterThan(time!);

    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metric(text, `${TIME_METRICS.commitWait}_count`)).toBeGreaterThanOrEqual(1);
    expect(text).toContain(TIME_METRICS.skewState);
  }, 60_000);

  it("holds the checkpoint back, saying why, while the reference has never answered", async () => {
    const socket = createSocket("udp4");
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    const silent = socket.address().port; // bound, never answers
    closers.push(() => new Promise((r) => socket.close(() => r(undefined))));
    const url = await serve(new ClockNode({ clock: systemClock, maxOffsetMs: 250 }), silent);
    const res = await fetch(`${url}/checkpoint`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/checkpoint held back: commit-wait needs a synchronised clock/);
  }, 60_000);
});
