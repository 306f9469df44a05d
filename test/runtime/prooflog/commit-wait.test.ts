// Checkpoint commit-wait (Spanner's TrueTime rule): a log with a clock stamps each checkpoint with TrueTime's
// latest and publishes it only once TrueTime's earliest has passed the stamp — about 2ε later — so no event
// observed after the checkpoint can carry an earlier time. An unsynchronised clock holds checkpoints back with a
// reason, and the log publishes once the clock is measured. Time is a manual clock the commit-wait sleep advances:
// the assertions are about order (what TrueTime said when the store published), never about wall time.
import { describe, expect, it } from "vitest";
import { TIME_METRICS } from "../../../model/time/metrics.js";
import { ClockNode } from "../../../runtime/clock/index.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { checkpointTimeOf } from "../../../runtime/prooflog/commit-wait.js";
import { LogUnavailableError, TransparencyLog } from "../../../runtime/prooflog/log.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/note.js";
import { MemoryStore, type Publication } from "../../../runtime/prooflog/storage/store.js";

const origin = "meridian.test/commit-wait";
const keys = generateKey(origin);

function clocked(maxOffsetMs = 5000) {
  const clock = new ManualClock(1_800_000_000_000);
  const node = new ClockNode({ clock, maxOffsetMs, sleep: async (ms) => clock.advance(ms) });
  const store = new MemoryStore();
  // What TrueTime said at the moment each checkpoint became visible.
  const published: { time: number | null; earliest: number }[] = [];
  const publish = store.publish.bind(store);
  store.publish = async (p: Publication) => {
    const text = p.note.split("\n\n")[0]!.split("\n").slice(3);
    published.push({ time: checkpointTimeOf({ extensions: text }), earliest: node.truetime.now().earliest });
    return publish(p);
  };
  return { clock, node, store, published };
}

const commitWaitSeconds = async (node: ClockNode) => (await node.metrics.registry.getSingleMetric(TIME_METRICS.commitWait)!.get()).values as { metricName?: string; value: number }[];

describe("checkpoint commit-wait", () => {
  it("publishes a checkpoint only after TrueTime's earliest has passed its time, ≈2ε after signing", async () => {
    const { node, store, published } = clocked();
    node.measure(0, 5);
    node.truetime.inflate(995, 3_600_000); // ε ≈ 1 s, as the /drills/inflate drill makes it
    const epsilon = node.truetime.epsilonMs();
    const log = await TransparencyLog.open({ origin, signer: newSigner(keys.signerKey), store, clock: node });
    await log.add(new TextEncoder().encode("an entry"));
    await log.publishCheckpoint();
    expect(published).toHaveLength(2);
    for (const p of published) {
      expect(p.time).not.toBeNull();
      expect(p.earliest).toBeGreaterThan(p.time!); // the stamp is in the past everywhere when it becomes visible
    }
    expect(published[1]!.time!).toBeGreaterThan(published[0]!.time!);
    expect(checkpointTimeOf(log.checkpoint().checkpoint)).toBe(published[1]!.time);
    // The wait is the interval's width: 2ε (on the manual clock), recorded in the commit-wait histogram.
    const values = await commitWaitSeconds(node);
    expect(values.find((v) => v.metricName?.endsWith("_count"))?.value).toBe(2);
    expect(values.find((v) => v.metricName?.endsWith("_sum"))!.value).toBeGreaterThanOrEqual((2 * 2 * epsilon) / 1000);
    await log.close();
  });

  it("holds checkpoints back while the clock is unsynchronised, saying why, and publishes once it is measured", async () => {
    const { node, store, published } = clocked();
    const log = await TransparencyLog.open({ origin, signer: newSigner(keys.signerKey), store, clock: node });
    expect(published).toEqual([]);
    expect(() => log.checkpoint()).toThrow(LogUnavailableError);
    expect(() => log.checkpoint()).toThrow(/no checkpoint has been published yet \(checkpoint held back: commit-wait needs a synchronised clock/);
    await expect(log.publishCheckpoint()).rejects.toThrow(/commit-wait needs a synchronised clock/);
    node.measure(0, 5);
    await log.publishCheckpoint();
    expect(published).toHaveLength(1);
    expect(published[0]!.earliest).toBeGreaterThan(published[0]!.time!);
    expect(log.checkpoint().checkpoint.size).toBe(0);
    await log.close();
  });

  it("holds checkpoints back while ε is beyond the bound (the freeze threshold), naming ε and the wait it would take", async () => {
    const { node, store, published } = clocked(250);
    node.measure(0, 5);
    const log = await TransparencyLog.open({ origin, signer: newSigner(keys.signerKey), store, clock: node });
    expect(published).toHaveLength(1);
    node.truetime.inflate(1_000_000, 3_600_000);
    await expect(log.publishCheckpoint(true)).rejects.toThrow(/^checkpoint held back: TrueTime ε 1000005 ms is beyond the bound of 200 ms, so commit-wait would take 2000010 ms$/);
    expect(published).toHaveLength(1);
    await log.close();
  });

  it("a log without a clock publishes at once, carrying no time", async () => {
    const store = new MemoryStore();
    const log = await TransparencyLog.open({ origin, signer: newSigner(keys.signerKey), store });
    expect(checkpointTimeOf(log.checkpoint().checkpoint)).toBeNull();
    await log.close();
  });
});
