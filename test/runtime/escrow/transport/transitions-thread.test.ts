// The transition log on a worker thread (transitions-thread.ts, transitions-worker.ts), as `escrow serve` runs it by
// default: it logs exactly what the log in the service's thread logs (the same entries, the same signed checkpoint); a
// worker that dies stops nothing but the log (its last durable checkpoint is served sealed, the events after it are
// counted dropped, entry reads answer 503); a kept log on PostgreSQL continues across a new thread, consistent with
// what the first signed; and a kept log is held to the map's anchors its parent reads (a stale store starts a new log).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Worker } from "node:worker_threads";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { RegionLedger } from "../../../../runtime/escrow/core/ledger.js";
import { EscrowTransitionLog } from "../../../../runtime/escrow/transition-log.js";
import type { Anchor } from "../../../../runtime/escrow/transport/transitions-anchor-judge.js";
import type { ServedLogSettings } from "../../../../runtime/escrow/transport/transitions-open-served.js";
import { TransitionLogThread, type ThreadHooks } from "../../../../runtime/escrow/transport/transitions-thread.js";
import { generateKey, newVerifier, openCheckpoint, verifyConsistency } from "../../../../runtime/prooflog/index.js";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";
import { challenge, sell, threadSettings } from "./thread-fixture.js";

const clock = new ManualClock(1_000_000);
const signerKey = generateKey("escrow").signerKey;
const settings = (more: Partial<ServedLogSettings> = {}): ServedLogSettings => threadSettings(signerKey, more);
const opened: TransitionLogThread[] = [];
const schemas: string[] = [];
const warnings: string[] = [];

async function open(s: ServedLogSettings, hooks: Partial<ThreadHooks> = {}): Promise<TransitionLogThread> {
  const t = await TransitionLogThread.open(s, { clock, onError: (e) => warnings.push(e.message), ...hooks });
  opened.push(t);
  return t;
}

beforeAll(ensurePgDatabase);
afterAll(async () => {
  for (const t of opened) await t.close().catch(() => undefined);
  for (const s of schemas) await dropPgSchema(s);
});

describe("the transition log on a worker thread", () => {
  it("logs what the log in the service's thread logs: the same entries, the same signed checkpoint, an honest log", async () => {
    const thread = await open(settings());
    const local = new EscrowTransitionLog(clock, { origin: thread.origin, signerKey });
    const ledger = new RegionLedger(60_000, "eu~tix~0000abcd");
    thread.attach(ledger, "tix", "eu");
    const toThread = ledger.onEvent!;
    local.attach(ledger, "tix", "eu");
    const toLocal = ledger.onEvent!;
    ledger.onEvent = (e) => (toThread(e), toLocal(e));
    sell(clock, ledger, 300, (id) => (thread.refund("tix", "eu", id), local.refund("tix", "eu", id)));
    clock.advance(120_000);
    ledger.expire(clock.now()); // the open reservations expire
    const status = await thread.status(Infinity);
    const mine = local.checkpoint();
    expect(status.size).toBeGreaterThan(300);
    expect(status).toMatchObject({ origin: mine.origin, vkey: mine.vkey, size: mine.size, root: mine.root, checkpoint: mine.checkpoint, backlog: 0, refused: 0, dropped: 0 });
    const entries = await thread.entries(0, 1000);
    expect(entries).toEqual(local.entries(0, 1000));
    expect(challenge(status, entries)).toBeUndefined();
    expect(thread.current()).toMatchObject({ size: status.size, root: status.root });
  });

  it("hands the ledgers' events over together, after a short linger, not a message a turn of the event loop", async () => {
    const thread = await open(settings());
    const ledger = new RegionLedger(60_000, "eu~tix~6666abcd");
    thread.attach(ledger, "tix", "eu");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      ledger.credit(1000);
      for (let i = 0; i < 200; i++) {
        ledger.reserve(`buyer-${i}`, 1, clock.now());
        await new Promise((r) => setImmediate(r)); // a turn of the event loop between each
      }
      expect(thread.posted).toBe(0);
      expect(thread.backlog).toBe(201);
      vi.advanceTimersByTime(5);
      expect(thread.posted).toBe(1);
      expect(thread.backlog).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    ledger.reserve("late", 1, clock.now());
    expect((await thread.status(Infinity)).size).toBe(202); // a checkpoint read hands over what waits first
    expect(thread.posted).toBe(2);
  });

  it("a worker that dies stops only the log: its last checkpoint served sealed, later events dropped, entry reads 503", async () => {
    const thread = await open(settings());
    const ledger = new RegionLedger(60_000, "eu~tix~2222abcd");
    thread.attach(ledger, "tix", "eu");
    sell(clock, ledger, 40, (id) => thread.refund("tix", "eu", id));
    const before = await thread.status(Infinity);
    const worker = (thread as unknown as { worker: Worker }).worker;
    await worker.terminate();
    // The sales go on: the ledger's events are taken and dropped, never thrown back at the sale.
    sell(clock, ledger, 10, (id) => thread.refund("tix", "eu", id));
    const after = await thread.status(Infinity);
    expect(after).toMatchObject({ origin: before.origin, size: before.size, root: before.root, checkpoint: before.checkpoint, backlog: 0 });
    expect(after.sealed).toEqual({ reason: expect.stringContaining("the transition log's thread stopped") as string, size: before.size });
    expect(after.dropped).toBeGreaterThanOrEqual(10);
    openCheckpoint(after.checkpoint, [newVerifier(after.vkey)], after.origin); // still the worker's signature
    await expect(thread.entries(0, 10)).rejects.toMatchObject({ status: 503 });
    await expect(thread.consistency(1, 2)).rejects.toMatchObject({ status: 503 });
    expect(warnings.some((w) => w.includes("the transition log's thread stopped"))).toBe(true);
  });

  it("kept on PostgreSQL: a new thread continues the log, consistent with what the first signed", async () => {
    const schema = uniqueName("tlog_thread");
    schemas.push(schema);
    const kept = settings({ postgres: { url: PG_URL, schema } });
    const first = await open(kept);
    const a = new RegionLedger(60_000, "eu~tix~3333abcd");
    first.attach(a, "tix", "eu");
    sell(clock, a, 50, (id) => first.refund("tix", "eu", id));
    const signed = await first.status(Infinity);
    await first.close();

    const second = await open(kept);
    expect(second.origin).toBe(signed.origin);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    expect(second.current()).toMatchObject({ size: signed.size, root: signed.root });
    const b = new RegionLedger(60_000, "eu~tix~4444abcd");
    second.attach(b, "tix", "eu");
    sell(clock, b, 20, (id) => second.refund("tix", "eu", id));
    let now = await second.status(Infinity);
    for (let i = 0; i < 100 && (now.backlog > 0 || now.size <= signed.size + 20); i++) now = await second.status(Infinity); // the state restores first
    expect(now.size).toBeGreaterThan(signed.size + 20);
    expect(now.sealed).toBeUndefined();
    const proof = await second.consistency(signed.size, now.size);
    expect(Array.isArray(proof)).toBe(true);
    const hashes = (proof as string[]).map((h) => Buffer.from(h, "base64"));
    verifyConsistency(signed.size, now.size, hashes, Buffer.from(signed.root, "hex"), Buffer.from(now.root, "hex"));
    const entries = await second.entries(0, 1000);
    expect(challenge(now, entries)).toBeUndefined();
  });

  it("a kept log is held to the anchors its parent reads from the map: behind one, or the map unreadable, a new log starts", async () => {
    const schema = uniqueName("tlog_thread_anchor");
    schemas.push(schema);
    const kept = settings({ postgres: { url: PG_URL, schema } });
    const first = await open(kept);
    const ledger = new RegionLedger(60_000, "eu~tix~5555abcd");
    first.attach(ledger, "tix", "eu");
    sell(clock, ledger, 10, () => undefined);
    const signed = await first.status(Infinity);
    await first.close();

    const asked: string[] = [];
    const ahead: Anchor = { v: "meridian-escrow-transitions/2", origin: signed.origin, epoch: 1, vkey: signed.vkey, size: signed.size + 5, root: "00".repeat(32) };
    const stale = await open(kept, { anchors: async (origin) => (asked.push(origin), [ahead]) });
    expect(asked).toEqual([signed.origin]);
    expect(stale.origin).not.toBe(signed.origin);
    const s = await stale.status(Infinity);
    expect(s.restarted).toEqual({ origin: signed.origin, size: signed.size, reason: expect.stringContaining("it was restored from an older state") as string });
    expect(s.size).toBe(0);
    await stale.close();

    const unread = await open(kept, { anchors: async () => "the map escrow could not be read to check the stored log against its anchors (refused)" });
    expect((await unread.status(Infinity)).restarted?.reason).toContain("could not be read");
  });

  it("a kept log whose store cannot be reached fails to open, as in the service's thread", async () => {
    await expect(open(settings({ postgres: { url: "postgres://postgres@127.0.0.1:1/none", schema: "x_never" } }))).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
