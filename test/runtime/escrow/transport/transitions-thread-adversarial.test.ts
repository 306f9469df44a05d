// Adversarial tests of the transition log on a worker thread (transitions-thread.ts, transitions-worker.ts): each
// attacks one thing it promises. Events are logged in the order the ledgers made them; a worker that dies (terminated,
// an exception inside it, process.exit inside it) or hangs stops only the log — sales never throw, the last signed
// checkpoint is served sealed, `dropped` counts every event not in it, reads answer 503, and no call waits forever;
// close() settles every call in flight, also while a kept log restores; the anchors hook failing does not hang the
// open; a burst past maxBacklog seals the log. The worker started is transitions-worker.ts behind a sabotage shim.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Worker } from "node:worker_threads";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { RegionLedger } from "../../../../runtime/escrow/core/ledger.js";
import { EscrowTransitionLog } from "../../../../runtime/escrow/transition-log.js";
import type { ServedLogSettings } from "../../../../runtime/escrow/transport/transitions-open-served.js";
import { TransitionLogThread, type ThreadHooks } from "../../../../runtime/escrow/transport/transitions-thread.js";
import { generateKey, newVerifier, openCheckpoint, verifyConsistency } from "../../../../runtime/prooflog/index.js";
import pg from "pg";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";
import { challenge, sell, threadSettings } from "./thread-fixture.js";

// The worker's module given explicitly, not by mocking runtime/common/worker.js: in the shared test worker (isolate:
// false) a module another file loaded first keeps the real import, and the sabotage then never reached the worker.
const SHIM = new URL("./transitions-thread-sabotage-worker.ts", import.meta.url);

const clock = new ManualClock(1_000_000);
const signerKey = generateKey("escrow").signerKey;
const settings = (more: Partial<ServedLogSettings> & { sabotage?: string } = {}): ServedLogSettings => threadSettings(signerKey, more);
const opened: TransitionLogThread[] = [];
const schemas: string[] = [];
const warnings: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown): void => void unhandled.push(err);

async function open(s: ServedLogSettings, hooks: Partial<ThreadHooks> = {}): Promise<TransitionLogThread> {
  const t = await TransitionLogThread.open(s, { clock, onError: (e) => warnings.push(e.message), workerModule: SHIM, ...hooks });
  opened.push(t);
  return t;
}
const workerOf = (t: TransitionLogThread): Worker => (t as unknown as { worker: Worker }).worker;
const sabotage = (t: TransitionLogThread, m: { do: "hang"; ms: number } | { do: "throw" | "exit" }): void => workerOf(t).postMessage({ t: "sabotage", ...m });
const exited = (t: TransitionLogThread): Promise<void> => new Promise((r) => workerOf(t).once("exit", () => r()));
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))]);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  await ensurePgDatabase();
});
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  for (const t of opened) await t.close().catch(() => undefined);
  for (const s of schemas) await dropPgSchema(s);
});

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("the transition log's thread, attacked", () => {
  it("logs events in the ledgers' order across many turns, two regions interleaved, with checkpoint reads racing them", async () => {
    const thread = await open(settings());
    const local = new EscrowTransitionLog(clock, { origin: thread.origin, signerKey });
    const tee = (ledger: RegionLedger, region: string): void => {
      thread.attach(ledger, "tix", region);
      const a = ledger.onEvent!;
      local.attach(ledger, "tix", region);
      const b = ledger.onEvent!;
      ledger.onEvent = (e) => (a(e), b(e));
    };
    const eu = new RegionLedger(60_000, "eu~tix~0000aaaa");
    const us = new RegionLedger(60_000, "us~tix~0000bbbb");
    tee(eu, "eu");
    tee(us, "us");
    const reads: Promise<unknown>[] = [];
    for (let round = 0; round < 40; round++) {
      sell(clock, round % 2 ? eu : us, 5 + (round % 4), (id) => (thread.refund("tix", round % 2 ? "eu" : "us", id), local.refund("tix", round % 2 ? "eu" : "us", id)));
      if (round % 3 === 0) reads.push(thread.status(0)); // a checkpoint read mid-stream, with no budget to log
      if (round % 5 === 0) await turn();
    }
    await Promise.all(reads);
    const status = await thread.status(Infinity);
    const mine = local.checkpoint();
    expect(status).toMatchObject({ size: mine.size, root: mine.root, checkpoint: mine.checkpoint, backlog: 0, dropped: 0, refused: 0 });
    const entries = [...(await thread.entries(0, 1000)), ...(await thread.entries(1000, 1000))];
    expect(entries).toEqual(local.entries(0, 2000));
    expect(challenge(status, entries)).toBeUndefined();
  });

  it("events pushed the moment open resolves (before any start or call) are logged", async () => {
    const thread = await open(settings());
    const ledger = new RegionLedger(60_000, "eu~tix~0001aaaa");
    thread.attach(ledger, "tix", "eu");
    ledger.credit(5);
    thread.flush();
    expect(await thread.status(Infinity)).toMatchObject({ size: 1, backlog: 0, dropped: 0 });
  });

  for (const how of ["throw", "exit"] as const) {
    it(`a worker that dies of ${how === "throw" ? "an exception inside it" : "process.exit inside it"} stops only the log: sealed at its last checkpoint, reads 503`, async () => {
      const thread = await open(settings());
      const ledger = new RegionLedger(60_000, `eu~tix~000${how === "throw" ? 2 : 3}aaaa`);
      thread.attach(ledger, "tix", "eu");
      sell(clock, ledger, 20, (id) => thread.refund("tix", "eu", id));
      const before = await thread.status(Infinity);
      const gone = exited(thread);
      sabotage(thread, { do: how });
      await gone;
      expect(() => sell(clock, ledger, 10, (id) => thread.refund("tix", "eu", id))).not.toThrow();
      thread.flush();
      const after = await thread.status(Infinity);
      expect(after).toMatchObject({ origin: before.origin, size: before.size, root: before.root, checkpoint: before.checkpoint, backlog: 0 });
      expect(after.sealed).toEqual({ reason: expect.stringContaining("the transition log's thread stopped") as string, size: before.size });
      expect(after.dropped).toBeGreaterThanOrEqual(10);
      openCheckpoint(after.checkpoint, [newVerifier(after.vkey)], after.origin);
      await expect(thread.entries(0, 1)).rejects.toMatchObject({ status: 503 });
      await expect(thread.consistency(0, 1)).rejects.toMatchObject({ status: 503 });
      await thread.close(); // closing a dead thread settles
    });
  }

  it("a worker that dies counts as dropped every event it was handed and had not signed (none lost silently)", async () => {
    const thread = await open(settings());
    const ledger = new RegionLedger(60_000, "eu~tix~0004aaaa");
    thread.attach(ledger, "tix", "eu");
    ledger.credit(100);
    const before = await thread.status(Infinity);
    expect(before).toMatchObject({ size: 1, dropped: 0 });
    for (let i = 0; i < 30; i++) ledger.reserve(`buyer-${i}`, 1, clock.now());
    thread.flush(); // handed to the worker: 30 events, none in a checkpoint this side has seen
    const gone = exited(thread);
    sabotage(thread, { do: "exit" });
    await gone;
    ledger.reserve("buyer-late", 1, clock.now()); // after it stopped
    const after = await thread.status(Infinity);
    expect(after.size).toBe(before.size);
    expect(after.dropped).toBe(31); // every event not in the signed checkpoint is dropped, and says so
  });

  it("a hung worker (stuck in a long loop): checkpoint, entry and proof reads answer 503 within a bound; sales go on", async () => {
    const thread = await open(settings(), { callTimeoutMs: 300 });
    const ledger = new RegionLedger(60_000, "eu~tix~0005aaaa");
    thread.attach(ledger, "tix", "eu");
    sell(clock, ledger, 5, () => undefined);
    await thread.status(Infinity);
    sabotage(thread, { do: "hang", ms: 4_000 });
    expect(() => sell(clock, ledger, 5, () => undefined)).not.toThrow();
    const t0 = Date.now();
    await expect(within(thread.status(200), 3_000, "status")).rejects.toMatchObject({ status: 503 });
    await expect(within(thread.entries(0, 1), 3_000, "entries")).rejects.toMatchObject({ status: 503 });
    await expect(within(thread.consistency(0, 1), 3_000, "consistency")).rejects.toMatchObject({ status: 503 });
    expect(Date.now() - t0).toBeLessThan(3_000);
    // Once it turns again, it answers, and logged everything it was handed, in order.
    await new Promise((r) => setTimeout(r, 4_000 - (Date.now() - t0)));
    const s = await within(thread.status(Infinity), 5_000, "status after the hang");
    expect(s).toMatchObject({ backlog: 0, dropped: 0 });
    expect(s.sealed).toBeUndefined();
  }, 20_000);

  it("a hung worker is not sent events without bound: past maxBacklog waiting in its port, the log seals and the rest are dropped here, counted", async () => {
    const thread = await open(settings({ maxBacklog: 100 }), { callTimeoutMs: 300 });
    const ledger = new RegionLedger(60_000, "eu~tix~0013aaaa");
    thread.attach(ledger, "tix", "eu");
    ledger.credit(10_000);
    const before = await thread.status(Infinity);
    const messages = thread.posted;
    sabotage(thread, { do: "hang", ms: 2_500 });
    let events = 0;
    for (let batch = 0; batch < 20; batch++) {
      for (let i = 0; i < 60; i++) if (ledger.reserve(`buyer-${i}`, 1, clock.now())) events++;
      thread.flush(); // a linger's worth of sales each
    }
    // The stuck worker was sent what fits in a backlog (and the batch that passed it), then nothing more.
    expect(thread.posted - messages).toBeLessThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 2_800));
    const s = await within(thread.status(Infinity), 5_000, "status after the hang");
    expect(s.sealed?.reason).toMatch(/more than 100 ledger events/);
    expect(s.size - before.size + s.dropped + s.refused + s.backlog).toBe(events);
    ledger.reserve("buyer-late", 1, clock.now());
    expect((await thread.status(Infinity)).dropped).toBe(s.dropped + 1);
  }, 20_000);

  it("a worker that exits before it is ready fails the open (never a promise that hangs the service's start)", async () => {
    await expect(within(open(settings({ sabotage: "exit-at-open" } as Partial<ServedLogSettings>)), 10_000, "open")).rejects.toThrow(/exited|stopped|start/);
  });

  it("close() with calls in flight settles every one of them, and a second close() waits for the first", async () => {
    const thread = await open(settings());
    const ledger = new RegionLedger(60_000, "eu~tix~0006aaaa");
    thread.attach(ledger, "tix", "eu");
    sell(clock, ledger, 50, (id) => thread.refund("tix", "eu", id));
    const inflight = [thread.status(Infinity), thread.entries(0, 10), thread.consistency(0, 1), thread.status(0)];
    const closing = thread.close();
    const again = thread.close();
    const settled = await within(Promise.allSettled(inflight), 20_000, "calls in flight at close");
    for (const r of settled) if (r.status === "rejected") expect(r.reason).toMatchObject({ status: 503 });
    await within(again, 20_000, "second close");
    expect(workerOf(thread).threadId).toBe(-1); // the second close resolved only once the worker was gone
    await closing;
    // After close: a call answers 503 at once, a status serves the last checkpoint sealed.
    await expect(within(thread.entries(0, 1), 2_000, "entries after close")).rejects.toMatchObject({ status: 503 });
    expect((await within(thread.status(0), 2_000, "status after close")).sealed).toBeDefined();
  });

  it("a burst far past maxBacklog in one turn seals the log there, drops and counts the rest, and sales never throw", async () => {
    const thread = await open(settings({ maxBacklog: 200 }));
    const ledger = new RegionLedger(60_000, "eu~tix~0007aaaa");
    thread.attach(ledger, "tix", "eu");
    ledger.credit(100_000);
    let events = 1;
    for (let i = 0; i < 20_000; i++) {
      if (ledger.reserve(`buyer-${i % 50}`, 1, clock.now())) events++;
    }
    const s = await thread.status(Infinity);
    expect(s.sealed?.reason).toContain("more than 200 ledger events queued");
    expect(s.size).toBeLessThanOrEqual(201);
    expect(s.size + s.dropped + s.refused + s.backlog).toBe(events);
    const later = await thread.status(Infinity); // sealed stays sealed; later events only count
    ledger.reserve("buyer-x", 1, clock.now());
    expect((await thread.status(Infinity)).dropped).toBe(later.dropped + 1);
  });

  describe("kept on PostgreSQL", () => {
    const keep = (): ServedLogSettings => {
      const schema = uniqueName("tlog_thread_adv");
      schemas.push(schema);
      return settings({ postgres: { url: PG_URL, schema } });
    };

    it("the checkpoint signs only what the store holds: with its appends failing, logged entries are neither signed nor served", async () => {
      const kept = keep();
      const schema = kept.postgres!.schema;
      const thread = await open(kept);
      const ledger = new RegionLedger(60_000, "eu~tix~0014aaaa");
      thread.attach(ledger, "tix", "eu");
      sell(clock, ledger, 10, () => undefined);
      const stored = await thread.status(Infinity);
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        const rows = async (): Promise<number> => Number((await c.query(`SELECT count(*) AS n FROM ${schema}.escrow_transition_entries`)).rows[0].n);
        expect(stored.size).toBe(await rows());
        await c.query(`ALTER TABLE ${schema}.escrow_transition_entries RENAME TO held`); // the store's appends fail
        sell(clock, ledger, 10, () => undefined);
        const failing = await thread.status(Infinity);
        expect(failing).toMatchObject({ size: stored.size, root: stored.root, backlog: 0 }); // logged in the worker, not durable: not signed
        expect(thread.current()).toMatchObject({ size: stored.size });
        expect(await thread.entries(0, 1000)).toHaveLength(stored.size);
        expect(await thread.consistency(0, stored.size + 1)).toMatch(/not within the log's \d+ durable entries/);
        expect(warnings.some((w) => w.includes("held") || w.includes("escrow_transition_entries"))).toBe(true);
        await c.query(`ALTER TABLE ${schema}.held RENAME TO escrow_transition_entries`);
        const healed = await thread.status(Infinity);
        expect(healed.size).toBeGreaterThan(stored.size);
        expect(healed.size).toBe(await rows());
      } finally {
        await c.end();
      }
    });

    it("close() right after sales stores every event it hands over (none left queued, unlogged, in the worker)", async () => {
      const kept = keep();
      const first = await open(kept);
      const ledger = new RegionLedger(60_000, "eu~tix~0016aaaa");
      first.attach(ledger, "tix", "eu");
      const toLog = ledger.onEvent!;
      let events = 0;
      ledger.onEvent = (e) => (events++, toLog(e));
      sell(clock, ledger, 200, () => undefined);
      await first.close();
      const next = await open(kept);
      expect(next.current().size).toBe(events);
      await next.close();
    });

    it("close() while the worker hangs waits it out (bounded), then stores every event it was handed: the next thread holds them all", async () => {
      const kept = keep();
      const first = await open(kept);
      const ledger = new RegionLedger(60_000, "eu~tix~0015aaaa");
      first.attach(ledger, "tix", "eu");
      const toLog = ledger.onEvent!;
      let events = 0;
      ledger.onEvent = (e) => (events++, toLog(e));
      sell(clock, ledger, 10, () => undefined);
      await first.status(Infinity);
      sabotage(first, { do: "hang", ms: 1_500 });
      sell(clock, ledger, 10, () => undefined); // queued behind the hang
      await within(first.close(), 16_000, "close of a hung worker");
      const next = await open(kept);
      expect(next.current().size).toBe(events);
      await next.close();
    }, 30_000);

    it("an anchors hook that throws does not hang the open or reject unhandled: a new log starts, saying why", async () => {
      const kept = keep();
      const first = await open(kept);
      const ledger = new RegionLedger(60_000, "eu~tix~0008aaaa");
      first.attach(ledger, "tix", "eu");
      sell(clock, ledger, 10, () => undefined);
      const signed = await first.status(Infinity);
      await first.close();
      const before = unhandled.length;
      const next = await within(
        open(kept, {
          anchors: () => Promise.reject(new Error("map read blew up")),
        }),
        10_000,
        "open with a throwing anchors hook",
      );
      expect(next.origin).not.toBe(signed.origin);
      const s = await next.status(Infinity);
      expect(s.restarted).toMatchObject({ origin: signed.origin, size: signed.size, reason: expect.stringContaining("map read blew up") as string });
      await turn();
      expect(unhandled.slice(before)).toEqual([]);
    });

    it("a continued log's worker that dies: the restart's own entries are not counted as events, every event sent after the checkpoint is", async () => {
      const kept = keep();
      const first = await open(kept);
      const a = new RegionLedger(60_000, "eu~tix~0011aaaa");
      first.attach(a, "tix", "eu");
      sell(clock, a, 10, () => undefined);
      clock.advance(1);
      a.reserve("buyer-open", 1, clock.now()); // open at the restart: the next log voids it
      await first.status(Infinity);
      await first.close();

      const second = await open(kept);
      const b = new RegionLedger(60_000, "eu~tix~0012aaaa");
      second.attach(b, "tix", "eu");
      b.credit(50);
      let signed = await second.status(Infinity);
      for (let i = 0; i < 200 && signed.backlog > 0; i++) signed = await second.status(Infinity);
      expect(signed).toMatchObject({ backlog: 0, dropped: 0, refused: 0 });
      for (let i = 0; i < 7; i++) b.reserve(`buyer-${i}`, 1, clock.now());
      second.flush();
      const gone = exited(second);
      sabotage(second, { do: "exit" });
      await gone;
      const after = await second.status(Infinity);
      expect(after).toMatchObject({ size: signed.size, root: signed.root, dropped: 7 });
    });

    it("close() while a continued log still restores its state settles; the next thread continues the log consistently", async () => {
      const kept = keep();
      const first = await open(kept);
      const ledger = new RegionLedger(60_000, "eu~tix~0009aaaa");
      first.attach(ledger, "tix", "eu");
      sell(clock, ledger, 3_000, () => undefined);
      const signed = await first.status(Infinity);
      await first.close();

      const second = await open(kept);
      const pending = second.status(0); // a call in flight while the state restores
      await within(second.close(), 20_000, "close while restoring");
      await within(
        pending.catch(() => undefined),
        2_000,
        "call in flight at close",
      );

      const third = await open(kept);
      expect(third.origin).toBe(signed.origin);
      const b = new RegionLedger(60_000, "eu~tix~0010aaaa");
      third.attach(b, "tix", "eu");
      sell(clock, b, 5, () => undefined);
      let now = await third.status(Infinity);
      for (let i = 0; i < 200 && (now.backlog > 0 || now.size <= signed.size + 5); i++) {
        await new Promise((r) => setTimeout(r, 20));
        now = await third.status(Infinity);
      }
      expect(now.sealed).toBeUndefined();
      expect(now.size).toBeGreaterThan(signed.size + 5);
      const proof = (await third.consistency(signed.size, now.size)) as string[];
      verifyConsistency(
        signed.size,
        now.size,
        proof.map((h) => Buffer.from(h, "base64")),
        Buffer.from(signed.root, "hex"),
        Buffer.from(now.root, "hex"),
      );
    }, 60_000);
  });
});
