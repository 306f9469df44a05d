// Hostile quantities and timelocks. Through the service (PostgreSQL ledger) every one is a 400, never a 503 that
// tells the client to retry what can never succeed. On the ledgers themselves (what swap.ts drives in-process) a
// lock's qty must be a positive whole number and its timelock a whole ms: otherwise the memory ledger "locks" a
// negative qty (units appear from nowhere) or NaN (balances become NaN), breaking supply = available + locked.
import { afterAll, describe, expect, it } from "vitest";
import { hashlockOf } from "../../../../runtime/escrow/htlc/core.js";
import { PostgresHtlcLedger } from "../../../../runtime/escrow/htlc/postgres.js";
import { MemoryHtlcLedger, type HtlcLedger } from "../../../../runtime/escrow/htlc/store.js";
import { as } from "../fixture.js";
import { PG_URL, dropPgSchema, uniqueName } from "../servers.js";
import { escrowOnPostgres } from "./server.js";

const fx = escrowOnPostgres("htlc_hostile");
const { schema } = fx;
const direct = uniqueName("htlc_hostile_direct");
const H = hashlockOf("11".repeat(32));
afterAll(() => dropPgSchema(direct));

async function post(path: string, who: string, raw: string, admin = false): Promise<number> {
  const res = await fetch(`${fx.server.url}${path}`, { method: "POST", headers: { ...(await as(who, undefined, { admin })), "content-type": "application/json" }, body: raw });
  await res.arrayBuffer();
  return res.status;
}

describe("hostile quantities and timelocks over HTTP", () => {
  it("are 400s; the asset's totals do not move", async () => {
    expect(await post("/v1/htlc/assets/gold-h/mint", "ops", JSON.stringify({ owner: "alice", qty: 10 }), true)).toBe(200);
    const future = Date.now() + 3_600_000;
    const lock = (qty: string, timelock: string) => `{"asset":"gold-h","recipient":"bob","qty":${qty},"hashlock":"${H}","timelockMs":${timelock}}`;
    for (const qty of ["-1", "0", "1.5", "9007199254740993", "1e300", '"5"', "null", "true", "[5]", "-0"]) expect(await post("/v1/htlc/locks", "alice", lock(qty, String(future))), qty).toBe(400);
    for (const t of ["1e21", "9223372036854775808", "9007199254740993", "-1", "0", "1.5", `${future}.5`, '"tomorrow"', "null"])
      expect(await post("/v1/htlc/locks", "alice", lock("1", t)), t).toBe(400);
    for (const qty of ["-10", "0", "0.5", "1e13", '"10"']) expect(await post("/v1/htlc/assets/gold-h/mint", "ops", `{"owner":"alice","qty":${qty}}`, true), qty).toBe(400);
    expect(await post("/v1/htlc/locks", "alice", lock("1", String(Date.now() - 1))), "past").toBe(410);
    const totals = await (await fetch(`${fx.server.url}/v1/htlc/assets/gold-h`)).json();
    expect(totals).toEqual({ asset: "gold-h", supply: 10, available: 10, locked: 0 });
  });
});

describe("lock ids a client cannot address", () => {
  it('"." and ".." are refused: fetch (and curl) resolve /v1/htlc/locks/../refund to /v1/htlc/refund, so such a lock could be neither read nor refunded', async () => {
    expect(await post("/v1/htlc/assets/gold-dots/mint", "ops", JSON.stringify({ owner: "alice", qty: 10 }), true)).toBe(200);
    for (const id of [".", ".."]) {
      const status = await post("/v1/htlc/locks", "alice", JSON.stringify({ id, asset: "gold-dots", recipient: "bob", qty: 1, hashlock: H, timelockMs: Date.now() + 1_000 }));
      expect(status, id).toBe(400);
    }
    // Ids are derived now (64 hex digits), but rows stored under ids clients chose before stay addressable: "..x" is
    // one path segment, answered by the lock route (unknown here), not resolved away.
    const got = await fetch(`${fx.server.url}/v1/htlc/locks/..x`);
    expect(got.status).toBe(404);
    expect(((await got.json()) as { error: string }).error).toBe("unknown lock");
    expect(await (await fetch(`${fx.server.url}/v1/htlc/assets/gold-dots`)).json()).toEqual({ asset: "gold-dots", supply: 10, available: 10, locked: 0 });
  });
});

describe.each([
  ["memory", () => new MemoryHtlcLedger()],
  ["postgres", () => new PostgresHtlcLedger({ url: PG_URL, schema: direct })],
] as [string, () => HtlcLedger][])("hostile quantities and timelocks on the %s ledger", (name, open) => {
  it("a lock refuses them as invalid; totals do not move", async () => {
    const l = open();
    const asset = `gold-${name}`;
    try {
      await l.mint(asset, "alice", 10);
      // No id: the ledger derives it, and must refuse the terms before it does (htlcId has no encoding for them).
      const req = (qty: number, timelockMs = 1_000, owner = "alice") => ({ asset, owner, recipient: "bob", qty, hashlock: H, timelockMs });
      for (const qty of [-5, 0, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53 + 2]) expect(await l.lock(req(qty), 0), String(qty)).toMatchObject({ ok: false, reason: "invalid" });
      for (const t of [1.5, Number.NaN, Infinity, 2 ** 53 + 2]) expect(await l.lock(req(1, t), 0), String(t)).toMatchObject({ ok: false, reason: "invalid" });
      expect(await l.lock(req(1, 1_000, "alice\uD800"), 0), "lone surrogate").toMatchObject({ ok: false, reason: "invalid" });
      expect(await l.lock({ id: "q0", ...req(-5) }, 0)).toMatchObject({ ok: false, reason: "invalid" });
      await expect(l.mint(asset, "alice", -10)).rejects.toThrow(RangeError);
      await expect(l.mint(asset, "alice", 0.5)).rejects.toThrow(RangeError);
      expect(await l.totals(asset)).toEqual({ asset, supply: 10, available: 10, locked: 0 });
      expect(await l.balance(asset, "alice")).toBe(10);
      expect(await l.get("q0")).toBeNull();
    } finally {
      await l.close();
    }
  });
});

describe("an asset's supply stays a safe integer", () => {
  it("a mint that would take the supply past 2^53 - 1 is refused (409 over HTTP), so every total reads back exactly", async () => {
    // Seed the service's own ledger directly (the route mints at most 1e12 at a time).
    const seed = new PostgresHtlcLedger({ url: PG_URL, schema });
    try {
      await seed.mint("gold-max", "whale", Number.MAX_SAFE_INTEGER - 5);
      await expect(seed.mint("gold-max", "whale", 6)).rejects.toThrow(RangeError);
      await expect(seed.mint("gold-max", "minnow", 6)).rejects.toThrow(RangeError);
    } finally {
      await seed.close();
    }
    expect(await post("/v1/htlc/assets/gold-max/mint", "ops", JSON.stringify({ owner: "alice", qty: 10 }), true)).toBe(409);
    expect(await post("/v1/htlc/assets/gold-max/mint", "ops", JSON.stringify({ owner: "alice", qty: 5 }), true)).toBe(200);
    expect(await (await fetch(`${fx.server.url}/v1/htlc/assets/gold-max`)).json()).toEqual({ asset: "gold-max", supply: Number.MAX_SAFE_INTEGER, available: Number.MAX_SAFE_INTEGER, locked: 0 });
    const mem = new MemoryHtlcLedger();
    await mem.mint("gold", "whale", Number.MAX_SAFE_INTEGER);
    await expect(mem.mint("gold", "minnow", 1)).rejects.toThrow(RangeError);
    expect(await mem.totals("gold")).toEqual({ asset: "gold", supply: Number.MAX_SAFE_INTEGER, available: Number.MAX_SAFE_INTEGER, locked: 0 });
  });
});
