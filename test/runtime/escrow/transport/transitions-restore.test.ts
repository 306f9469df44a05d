// A kept transition log's restart does not hold the process's start (#17): openDurableTransitionLog reads the stored
// entries into the log's Merkle tree (held to the stored root) and returns, serving the stored checkpoint; the state is
// rebuilt afterwards in slices of the event loop (each entry re-executed, the state tree held to the last post root).
// Until it is, the ledgers' events wait queued — nothing is executed or signed on an unverified state — and then the
// previous process's open reservations are voided, its free units debited, and the queued events follow: one valid log
// (every transition re-executes: proveEscrow finds nothing). A stored log that hashes as stored but does not re-execute
// (a wrong post root) is sealed at its stored size once found, and the next start names a new log. Real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { RegionLedger } from "../../../../runtime/escrow/core/ledger.js";
import { openDurableTransitionLog, type ServedTransitionLog } from "../../../../runtime/escrow/transport/transitions-durable.js";
import { PostgresTransitionLogStore } from "../../../../runtime/escrow/transport/transitions-pg.js";
import { decodeEntry, EMPTY_STATE_ROOT, ESCROW_EMPTY_ROOT, freeKey, proveEscrow, smtKey } from "../../../../runtime/fraud/index.js";
import { generateKey, SparseMerkleTree } from "../../../../runtime/prooflog/index.js";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const schemas: string[] = [];
const opened: ServedTransitionLog[] = [];
beforeAll(ensurePgDatabase);
afterAll(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  for (const s of schemas) await dropPgSchema(s);
});

const clock = new ManualClock(1_000_000);
const signerKey = generateKey("escrow").signerKey;

/** Open the kept log of `schema` as a process start does. */
async function open(schema: string): Promise<ServedTransitionLog> {
  const served = await openDurableTransitionLog(new PostgresTransitionLogStore({ url: PG_URL, schema }), { clock, base: "meridian-escrow/eu", signerKey });
  opened.push(served);
  return served;
}

/** A first process's log: `pairs` reservations committed, `left` left open (their ids). */
async function firstRun(schema: string, pairs: number, left: number): Promise<{ served: ServedTransitionLog; open: string[] }> {
  const served = await open(schema);
  const ledger = new RegionLedger(60_000, "eu~tix~0000abcd");
  served.log.attach(ledger, "tix", "eu");
  ledger.credit(pairs + left + 5);
  for (let i = 0; i < pairs; i++) {
    const r = ledger.reserve(`buyer-${i % 50}`, 1, clock.now())!;
    ledger.beginCommit(r.id, clock.now());
    ledger.finishCommit(r.id);
  }
  const ids = Array.from({ length: left }, (_, i) => ledger.reserve(`late-${i}`, 1, clock.now())!.id);
  served.log.flush();
  await served.sync();
  return { served, open: ids };
}

describe("a kept transition log's restart", () => {
  it("serves at once: the stored checkpoint signed, new events queued; the state rebuilt after, then the restart's voids and the queued events — one valid log", async () => {
    const schema = uniqueName("tlog_restore");
    schemas.push(schema);
    const first = await firstRun(schema, 1500, 3);
    const stored = first.served.current();
    expect(stored.size).toBe(1 + 2 * 1500 + 3); // refill, reserve + commit pairs, the open ones
    await first.served.close();

    const second = await open(schema);
    // Returned before the state is rebuilt: the state tree is still empty, the log restoring.
    expect(second.log.restoring).toBe(true);
    expect(Buffer.from(second.log.sequencer.state.root())).toEqual(Buffer.from(ESCROW_EMPTY_ROOT));
    expect(second.log.sequencer.origin).toBe(stored.origin);
    expect(second.current()).toMatchObject({ origin: stored.origin, size: stored.size, root: stored.root });
    // A new ledger's events wait: nothing is executed or logged on a state not yet verified.
    const ledger = new RegionLedger(60_000, "eu~tix~1111abcd");
    second.log.attach(ledger, "tix", "eu");
    ledger.credit(2);
    const fresh = ledger.reserve("ann", 1, clock.now())!;
    second.log.flush();
    expect(second.log.sequencer.log.size).toBe(stored.size);
    expect(second.log.backlog).toBe(2);

    await second.restored;
    expect(second.log.restoring).toBe(false);
    expect(second.log.sealed).toBeUndefined();
    second.log.flush();
    await second.sync();
    const after = second.log.sequencer.entries.slice(stored.size).map((b) => decodeEntry(b).tx as { op: string; id?: string; qty?: number });
    expect(after.map((t) => t.op)).toEqual(["void", "void", "void", "debit", "refill", "reserve"]);
    expect(after.slice(0, 3).map((t) => t.id)).toEqual(first.open);
    expect(after[3]).toMatchObject({ op: "debit", qty: 5 });
    expect(after[5]).toMatchObject({ op: "reserve", id: fresh.id });
    // Every transition of the whole log re-executes from the empty state, across the restart.
    const cp = second.current();
    expect(cp.size).toBe(stored.size + 6);
    expect(proveEscrow(cp.checkpoint, second.log.sequencer.entries, second.log.vkey, cp.origin)).toBeUndefined();
    await second.close();
  });

  it("a graceful close stores the ledgers' events still queued (in the service's thread, as on the worker)", async () => {
    const schema = uniqueName("tlog_restore_close");
    schemas.push(schema);
    const served = await open(schema);
    const ledger = new RegionLedger(60_000, "eu~tix~2222abcd");
    served.log.attach(ledger, "tix", "eu");
    ledger.credit(10);
    for (let i = 0; i < 4; i++) ledger.reserve(`buyer-${i}`, 1, clock.now());
    expect(served.log.backlog).toBe(5); // queued: no tick has flushed them
    await served.close();
    const next = await open(schema);
    expect(next.current().size).toBe(5);
    await next.close();
  });

  it("a stored log that hashes as stored but does not re-execute: sealed at its stored size once found; the next start names a new log", async () => {
    const schema = uniqueName("tlog_restore_bad");
    schemas.push(schema);
    const first = await firstRun(schema, 20, 1);
    const s = first.served.log.sequencer;
    // A faulty process's last entry: a valid refill whose post root is not the state's.
    s.appendEntry({ pre: s.state.root(), tx: { op: "refill", sku: "tix", region: "eu", qty: 1 }, post: new Uint8Array(32) });
    await first.served.sync();
    const stored = first.served.current();
    await first.served.close();

    const second = await open(schema);
    expect(second.restarted).toBeUndefined(); // its entries hash to the stored root: served as stored, for now
    expect(second.current()).toMatchObject({ origin: stored.origin, size: stored.size });
    await second.restored;
    expect(second.log.sealed).toMatchObject({ size: stored.size });
    expect(second.log.sealed!.reason).toMatch(/post root/);
    expect(second.current()).toMatchObject({ origin: stored.origin, size: stored.size, sealed: { size: stored.size } });
    await second.close();

    const third = await open(schema);
    expect(third.log.sequencer.origin).not.toBe(stored.origin);
    expect(third.restarted).toBeUndefined(); // the log was named anew by the one that found it
    expect(third.log.sequencer.log.size).toBe(0);
  });

  it("a log kept before the state moved to the compact tree (entry 0 from the 256-level tree's empty root): sealed at its stored size, the next start names a new log", async () => {
    const schema = uniqueName("tlog_restore_old");
    schemas.push(schema);
    const first = await open(schema);
    const s = first.log.sequencer;
    // What the old sequencer logged: a refill executed on runtime/prooflog's 256-level SMT.
    const old = new SparseMerkleTree();
    const pre = old.root();
    expect(Buffer.from(pre)).toEqual(Buffer.from(EMPTY_STATE_ROOT));
    const post = old.set(smtKey(freeKey("tix", "eu")), Buffer.from("5"));
    s.appendEntry({ pre, tx: { op: "refill", sku: "tix", region: "eu", qty: 5 }, post });
    await first.sync();
    const stored = first.current();
    await first.close();

    const second = await open(schema);
    expect(second.current()).toMatchObject({ origin: stored.origin, size: 1 });
    await second.restored;
    expect(second.log.sealed).toMatchObject({ size: 1, reason: expect.stringMatching(/compact state tree's empty root/) });
    await second.close();
    const third = await open(schema);
    expect(third.log.sequencer.origin).not.toBe(stored.origin);
    expect(third.log.sequencer.log.size).toBe(0);
  });
});
