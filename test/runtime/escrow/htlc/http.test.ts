// Atomic swaps over the escrow HTTP API: two escrow services in-process (the kit's app, PostgreSQL
// schemas of their own), each with its own clock, and the parties acting only through their verified
// tokens (runtime/escrow/htlc/client.ts). Only the recipient claims, only the owner refunds; a ledger
// restarted between lock and claim still has the lock; totals are conserved on both ledgers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClockNode } from "../../../../runtime/clock/index.js";
import { startEscrowServer, type EscrowServer } from "../../../../runtime/escrow/index.js";
import { HttpHtlcLedger } from "../../../../runtime/escrow/htlc/client.js";
import { aliceClaims, aliceLocks, bobLocks, newSecret, swapLockIds, swapTimelocks, watch, type SwapTerms } from "../../../../runtime/escrow/htlc/swap.js";
import { testConfig, tokenFor } from "../fixture.js";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const schemas = [uniqueName("htlc_http1"), uniqueName("htlc_http2")];
const timing = { epsilonMs: 250, reactionMs: 5_000 };
// Each ledger's clock: real time shifted by what the test advances (timelocks are judged by it).
const shift = [0, 0];
const clocks = [{ now: () => Date.now() + shift[0]! }, { now: () => Date.now() + shift[1]! }];
const servers: EscrowServer[] = [];
const TTL = { ttlSeconds: 86_400 * 365 };

async function start(n: 0 | 1): Promise<EscrowServer> {
  const config = await testConfig([`r${n + 1}`]);
  // The clock layer's node reads the system clock (never untrustworthy here); the ledger's clock is shifted.
  return startEscrowServer({
    config,
    port: 0,
    host: "127.0.0.1",
    postgresUrl: PG_URL,
    schema: schemas[n],
    clock: clocks[n],
    clockNode: new ClockNode({ clock: { now: () => Date.now() }, maxOffsetMs: 250 }),
  });
}

beforeAll(async () => {
  await ensurePgDatabase();
  servers[0] = await start(0);
  servers[1] = await start(1);
});
afterAll(async () => {
  for (const s of servers) await s?.close();
  for (const s of schemas) await dropPgSchema(s);
});

const as = async (sub: string, n: 0 | 1, admin = false) => new HttpHtlcLedger(servers[n]!.url, await tokenFor(sub, { ...TTL, scope: admin ? "escrow:admin" : undefined }));

let seq = 0;
async function swap() {
  const id = `http-${seq++}`;
  const now = Date.now() + Math.max(shift[0]!, shift[1]!);
  const terms: SwapTerms = { alice: "alice", bob: "bob", leg1: { asset: `gold-${id}`, qty: 5 }, leg2: { asset: `silver-${id}`, qty: 7 }, ...swapTimelocks(now, now + 120_000, timing) };
  await (await as("ops", 0, true)).mint(terms.leg1.asset, "alice", 10);
  await (await as("ops", 1, true)).mint(terms.leg2.asset, "bob", 10);
  const secret = newSecret();
  return { terms, secret, ids: swapLockIds(terms, secret.hashlock), alice: [await as("alice", 0), await as("alice", 1)] as const, bob: [await as("bob", 0), await as("bob", 1)] as const };
}
const t = () => ({ l1: clocks[0]!.now(), l2: clocks[1]!.now() });

async function conserved(terms: SwapTerms) {
  for (const [n, asset] of [[0, terms.leg1.asset] as const, [1, terms.leg2.asset] as const]) {
    const totals = await (await as("anyone", n)).totals(asset);
    expect(totals.available + totals.locked).toBe(totals.supply);
    expect(totals.supply).toBe(10);
  }
}

describe("HTLC swap between two escrow services over HTTP", () => {
  it("completes; only the recipient claims, only the owner refunds; a ledger restart keeps the lock", async () => {
    const { terms, secret, ids, alice, bob } = await swap();
    expect((await aliceLocks(alice[0], terms, secret.hashlock, 0)).ok).toBe(true);
    expect((await bobLocks(bob[0], bob[1], terms, secret.hashlock, timing, 0)).ok).toBe(true);
    // Auth: no token 401; Mallory's claim with the right preimage, Bob's refund of Alice's lock: 403.
    const bare = await fetch(`${servers[1]!.url}/v1/htlc/locks/${ids.l2}/claim`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ preimage: secret.preimage }),
    });
    expect(bare.status).toBe(401);
    expect(await (await as("mallory", 1)).claim(ids.l2, secret.preimage)).toMatchObject({ ok: false, reason: "not-recipient" });
    expect(await bob[0].refund(ids.l1)).toMatchObject({ ok: false, reason: "not-owner" });
    expect(await alice[1].claim(ids.l2, "ab".repeat(32))).toMatchObject({ ok: false, reason: "wrong-preimage" });
    // L2's process dies and comes back on the same schema before Alice claims.
    await servers[1]!.close();
    servers[1] = await start(1);
    const a2 = await as("alice", 1);
    const b2 = await as("bob", 1);
    expect((await a2.get(ids.l2))!.status).toBe("locked");
    expect((await aliceClaims(a2, terms, secret.preimage, timing, t().l2)).ok).toBe(true);
    expect(await a2.claim(ids.l2, secret.preimage)).toMatchObject({ ok: true, duplicate: true });
    // Bob's watcher reads the preimage from L2 (public) and claims on L1.
    expect(await watch("bob", bob[0], b2, terms, secret.hashlock, t())).toBe("claimed");
    expect(await bob[0].balance(terms.leg1.asset, "bob")).toBe(5);
    expect(await a2.balance(terms.leg2.asset, "alice")).toBe(7);
    expect(await alice[0].balance(terms.leg1.asset, "alice")).toBe(5);
    expect(await b2.balance(terms.leg2.asset, "bob")).toBe(3);
    await conserved(terms);
  });

  it("a counterparty that vanishes: each side refunds after its own timelock, and a late claim is refused", async () => {
    const { terms, secret, ids, alice, bob } = await swap();
    await aliceLocks(alice[0], terms, secret.hashlock, 0);
    await bobLocks(bob[0], bob[1], terms, secret.hashlock, timing, 0);
    // Alice vanishes. Before T2 Bob may not refund; from T2 (L2's clock) he does, and Alice's late claim is refused.
    expect(await bob[1].refund(ids.l2)).toMatchObject({ ok: false, reason: "not-yet" });
    shift[1] = terms.t2Ms - Date.now();
    expect(await watch("bob", bob[0], bob[1], terms, secret.hashlock, t())).toBe("refunded");
    expect(await alice[1].claim(ids.l2, secret.preimage)).toMatchObject({ ok: false, reason: "refunded" });
    shift[0] = terms.t1Ms - Date.now();
    expect(await watch("alice", alice[0], alice[1], terms, secret.hashlock, t())).toBe("refunded");
    expect(await alice[0].balance(terms.leg1.asset, "alice")).toBe(10);
    expect(await bob[1].balance(terms.leg2.asset, "bob")).toBe(10);
    await conserved(terms);
  });

  it("Bob never locks: Alice's claim on L2 finds nothing, a claim of her lock after T1 is refused, and she refunds", async () => {
    const { terms, secret, ids, alice, bob } = await swap();
    await aliceLocks(alice[0], terms, secret.hashlock, 0);
    expect(await aliceClaims(alice[1], terms, secret.preimage, timing, t().l2)).toMatchObject({ ok: false, reason: "no-counter-lock" });
    shift[0] = terms.t1Ms - Date.now();
    expect(await bob[0].claim(ids.l1, secret.preimage)).toMatchObject({ ok: false, reason: "expired" });
    expect(await watch("alice", alice[0], alice[1], terms, secret.hashlock, t())).toBe("refunded");
    expect(await alice[0].balance(terms.leg1.asset, "alice")).toBe(10);
    await conserved(terms);
  });
});
