import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { buildEscrowApp } from "../app.js";
import { EscrowService } from "../../../../runtime/escrow/service.js";
import { MemoryEscrowStore } from "../../../../runtime/escrow/store/memory.js";
import type { RateLimiterPort } from "../../../../runtime/escrow/flashsale/ports.js";
import type { EscrowConfigInput } from "../../../../runtime/escrow/config.js";
import { as, testConfig, tokenFor } from "../fixture.js";

const T0 = 1_700_000_000_000;

/** A limiter fake for escrow-only tests: allows everyone except users named in `deny`. */
const limiter = (deny: string[] = []): RateLimiterPort => ({
  check: (key) => (deny.some((u) => key.endsWith(`:${u}`)) ? { allowed: false, retryAfterMs: 1500, remaining: 0 } : { allowed: true, retryAfterMs: 0, remaining: 10 }),
});

async function setup(extra: Partial<EscrowConfigInput> = {}, deny: string[] = []) {
  const clock = new ManualClock(T0);
  const config = await testConfig(["eu", "us", "ap"], { reservationTtlSeconds: 60, leaseTtlSeconds: 5, ...extra });
  let x = 0;
  const rng = () => (x = (x * 7919 + 0.123) % 1);
  const service = new EscrowService({ config, store: new MemoryEscrowStore(), limiter: limiter(deny), clock, rng });
  const app = buildEscrowApp(service, clock);
  const call = async (
    method: "GET" | "POST" | "DELETE",
    url: string,
    who: string | null,
    body?: unknown,
    region: string | null = "eu",
    o: { admin?: boolean; headers?: Record<string, string> } = {},
  ) =>
    app.inject({ method, url, payload: body as object, headers: { ...(who ? await as(who, undefined, { admin: o.admin, nowMs: T0 }) : {}), ...(region ? { "x-region": region } : {}), ...o.headers } });
  const create = (sku: string, total: number) => call("POST", `/v1/inventory/${sku}`, "ops", { total }, "eu", { admin: true });
  return { clock, service, app, call, create };
}

describe("escrow HTTP API", () => {
  it("creates items idempotently (admins only) and names what is wrong in a bad request", async () => {
    const { call, create } = await setup();
    expect((await create("tix", 10)).statusCode).toBe(201);
    expect((await create("tix", 10)).statusCode).toBe(200);
    expect((await create("tix", 11)).statusCode).toBe(409);
    expect((await call("POST", "/v1/inventory/tix3", "mallory", { total: 5 })).statusCode).toBe(403);
    const bad = await call("POST", "/v1/inventory/tix2", "ops", { total: 1.5 }, "eu", { admin: true });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/total: expected a whole number/);
    expect((await call("POST", "/v1/inventory/bad%20sku", "ops", { total: 1 }, "eu", { admin: true })).json().detail).toMatch(/sku/);
    const noRegion = await call("POST", "/v1/inventory/tix/reservations", "a", { qty: 1 }, null);
    expect(noRegion.statusCode).toBe(400);
    expect(noRegion.json().detail).toMatch(/X-Region/);
    expect((await call("POST", "/v1/inventory/tix/reservations", "a", { qty: 1 }, "mars")).statusCode).toBe(421);
    const extra = await call("POST", "/v1/inventory/tix/reservations", "a", { qty: 1, user: "someone-else" });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().detail).toMatch(/user/); // identity never comes from the body
    expect((await call("POST", "/v1/inventory/nope/reservations", "a", { qty: 1 })).statusCode).toBe(404);
  });

  it("refuses requests without a verified token, naming why", async () => {
    const { call, create, app } = await setup();
    await create("tix", 10);
    const none = await call("POST", "/v1/inventory/tix/reservations", null, { qty: 1 });
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    const token = await tokenFor("alice", { nowMs: T0 });
    const [h, p, sig] = token.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), sub: "bob" })).toString("base64url")}.${sig}`;
    const r = await app.inject({ method: "POST", url: "/v1/inventory/tix/reservations", payload: { qty: 1 }, headers: { authorization: `Bearer ${forged}`, "x-region": "eu" } });
    expect(r.statusCode).toBe(401);
    expect(r.json().detail).toMatch(/signature/);
    const expired = await tokenFor("alice", { nowMs: T0 - 7_200_000, ttlSeconds: 60 });
    const e = await app.inject({ method: "POST", url: "/v1/inventory/tix/reservations", payload: { qty: 1 }, headers: { authorization: `Bearer ${expired}`, "x-region": "eu" } });
    expect(e.json()).toMatchObject({ error: "unauthenticated", detail: "bearer token rejected: the token has expired" });
    const unknownTier = await call("POST", "/v1/inventory/tix/reservations", null, { qty: 1 }, "eu", { headers: { authorization: `Bearer ${await tokenFor("t", { tier: "platinum", nowMs: T0 })}` } });
    expect(unknownTier.json().detail).toMatch(/tier "platinum"/);
    // A NUL in `sub` is refused at the door: PostgreSQL's text cannot hold it, so its commit would fail the
    // journal write it shares with other buyers' sales (each answered 503), however often it is retried.
    const nul = await call("POST", "/v1/inventory/tix/reservations", null, { qty: 1 }, "eu", { headers: { authorization: `Bearer ${await tokenFor("nul\u0000user", { nowMs: T0 })}` } });
    expect(nul.statusCode).toBe(401);
    expect(nul.json().detail).toMatch(/`sub`.*NUL/);
    // So is a lone surrogate: the stores keep buyers as UTF-8, where it becomes U+FFFD, so the buyer's own
    // acknowledged sale would read back as someone else's (a replayed commit: 403), and such buyers share a cap.
    for (const sub of ["lone\uD800x", "lone\uDC00x"]) {
      const r = await call("POST", "/v1/inventory/tix/reservations", null, { qty: 1 }, "eu", { headers: { authorization: `Bearer ${await tokenFor(sub, { nowMs: T0 })}` } });
      expect(r.statusCode, JSON.stringify(sub)).toBe(401);
      expect(r.json().detail).toMatch(/`sub`.*well-formed/);
    }
    // A tier named after a property every object inherits is no tier either (its "weight" would be a function).
    const inherited = await call("POST", "/v1/inventory/tix/reservations", null, { qty: 1 }, "eu", { headers: { authorization: `Bearer ${await tokenFor("t", { tier: "constructor", nowMs: T0 })}` } });
    expect(inherited.statusCode).toBe(401);
    expect(inherited.json().detail).toMatch(/tier "constructor"/);
  });

  it("reserves, commits (also through another region), and the inventory always adds up; a rejected request changes nothing", async () => {
    const { call, create, service, clock } = await setup();
    await create("tix", 5);
    const r = await call("POST", "/v1/inventory/tix/reservations", "alice", { qty: 2 });
    expect(r.statusCode).toBe(201);
    const { reservationId, expiresAt } = r.json() as { reservationId: string; expiresAt: string };
    expect(new Date(expiresAt).getTime()).toBe(T0 + 60_000);
    let inv = (await call("GET", "/v1/inventory/tix", null)).json();
    expect(inv).toMatchObject({ total: 5, sold: 0, reserved: 2, available: 3 });
    // A live reservation committed through another region (the GSLB moved the buyer).
    const c = await call("POST", `/v1/reservations/${reservationId}/commit`, "alice", undefined, "us");
    expect(c.statusCode).toBe(200);
    expect(c.json()).toMatchObject({ status: "sold", qty: 2, duplicate: false });
    expect((await call("POST", `/v1/reservations/${reservationId}/commit`, "alice", undefined, "ap")).json()).toMatchObject({ status: "sold", duplicate: true });
    expect((await call("DELETE", `/v1/reservations/${reservationId}`, "alice")).statusCode).toBe(409);
    // us holds too few: bob is asked to retry while the other regions move units there on their tick.
    let bob = await call("POST", "/v1/inventory/tix/reservations", "bob", { qty: 3 }, "us");
    for (let i = 0; i < 3 && bob.statusCode === 429; i++) {
      await service.tick();
      bob = await call("POST", "/v1/inventory/tix/reservations", "bob", { qty: 3 }, "us");
    }
    expect(bob.statusCode).toBe(201);
    await service.tick();
    const before = (await call("GET", "/v1/inventory/tix", null)).json();
    // Every unsold unit is in bob's open checkout: carol may retry (they return if bob does not buy).
    const wait = await call("POST", "/v1/inventory/tix/reservations", "carol", { qty: 1 }, "ap");
    expect(wait.statusCode).toBe(429);
    expect(wait.json().detail).toMatch(/3 units are not sold yet but none is free now/);
    expect((await call("POST", "/v1/inventory/tix/reservations", "carol", { qty: 0 }, "ap")).statusCode).toBe(400);
    inv = (await call("GET", "/v1/inventory/tix", null)).json();
    const counts = (v: Record<string, unknown>) => ({ total: v["total"], sold: v["sold"], reserved: v["reserved"], available: v["available"], pool: v["pool"] });
    expect(counts(inv)).toEqual(counts(before));
    expect((await call("POST", `/v1/reservations/${bob.json().reservationId as string}/commit`, "bob", undefined, "us")).statusCode).toBe(200);
    clock.advance(300); // ap's view of the store is older than a moment: it checks before answering for good
    const soldOut = await call("POST", "/v1/inventory/tix/reservations", "carol", { qty: 1 }, "ap");
    expect(soldOut.statusCode).toBe(409);
    expect(soldOut.json()).toMatchObject({ error: "sold out", left: 0 });
    inv = (await call("GET", "/v1/inventory/tix", null)).json();
    expect(inv).toMatchObject({ sold: 5, reserved: 0, available: 0 });
    expect(inv.sold + inv.reserved + inv.available).toBe(5);
  });

  it("asking for more than is left anywhere answers 409 with what is left, not 429", async () => {
    const { call, create, service } = await setup({ admission: { perUserLimit: 10 } });
    await create("tix", 4);
    await service.tick();
    const r = await call("POST", "/v1/inventory/tix/reservations", "dan", { qty: 9 });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ error: "insufficient inventory", left: 4, detail: "only 4 left, 9 requested" });
  });

  it("reservation ids are bound to their buyer: foreign → 404 as forged, and neither changes anything", async () => {
    const { call, create } = await setup();
    await create("tix", 5);
    const id = (await call("POST", "/v1/inventory/tix/reservations", "alice", { qty: 1 })).json().reservationId as string;
    expect((await call("POST", `/v1/reservations/${id}/commit`, "mallory")).statusCode).toBe(404);
    expect((await call("DELETE", `/v1/reservations/${id}`, "mallory")).statusCode).toBe(404);
    expect((await call("GET", `/v1/reservations/${id}`, "mallory")).json()).toEqual({
      error: "unknown reservation",
      detail: `no reservation ${id} of yours: ids are answered only to the buyer they were issued to`,
    });
    const forged = `${id.slice(0, -16)}${"x".repeat(16)}`;
    expect((await call("POST", `/v1/reservations/${forged}/commit`, "alice")).statusCode).toBe(404);
    expect((await call("POST", "/v1/reservations/eu~tix~00000000-AAAAAAAAAAAAAAAA/commit", "alice")).statusCode).toBe(404);
    // Well-formed ids this process never issued: the real one's with another incarnation nonce, another item, an unknown item.
    await create("other", 5);
    await call("POST", "/v1/inventory/other/reservations", "alice", { qty: 1 }); // "other" has a running sale in eu
    const [, prefix, nonce, rest] = /^(eu~tix~)([0-9a-f]{8})(.*)$/.exec(id)!;
    for (const fake of [`${prefix}${nonce === "00000000" ? "11111111" : "00000000"}${rest}`, id.replace("~tix~", "~other~"), id.replace("~tix~", "~nosuch~")]) {
      for (const region of ["eu", "us"]) {
        const r = await call("POST", `/v1/reservations/${fake}/commit`, "alice", undefined, region);
        expect(r.statusCode, `${fake} via ${region}`).toBe(404);
        expect(r.json().error).toBe("unknown reservation");
      }
      expect((await call("DELETE", `/v1/reservations/${fake}`, "alice")).statusCode).toBe(404);
    }
    expect((await call("GET", "/v1/inventory/tix", null)).json()).toMatchObject({ sold: 0, reserved: 1 });
    const sold = await call("POST", `/v1/reservations/${id}/commit`, "alice");
    expect(sold.statusCode).toBe(200);
    expect((await call("POST", `/v1/reservations/${id}/commit`, "mallory", undefined, "us")).statusCode).toBe(404); // even once sold
  });

  it("cancels, and a reservation swept by expiry answers 410, not 404", async () => {
    const { call, clock, create, service } = await setup();
    await create("tix", 3);
    const a = (await call("POST", "/v1/inventory/tix/reservations", "a", { qty: 1 })).json().reservationId as string;
    const b = (await call("POST", "/v1/inventory/tix/reservations", "b", { qty: 1 })).json().reservationId as string;
    expect((await call("DELETE", `/v1/reservations/${a}`, "a")).statusCode).toBe(204);
    expect((await call("DELETE", `/v1/reservations/${a}`, "a")).statusCode).toBe(204); // idempotent: a retry after a lost answer
    clock.advance(60_001);
    await service.tick(); // the sweep releases b
    const late = await call("POST", `/v1/reservations/${b}/commit`, "b");
    expect(late.statusCode).toBe(410);
    expect((await call("GET", "/v1/inventory/tix", null)).json()).toMatchObject({ sold: 0, reserved: 0, available: 3 });
    expect((await call("POST", "/v1/reservations/garbage/commit", "b")).statusCode).toBe(404);
  });

  it("an expired id answers 410 to its owner only — another buyer and a forged id 404 — also once the sweep forgot it, and through another region", async () => {
    // eu's process and a second process serving us alone, over one store; us forwards eu's reservations to eu.
    const { call, clock, create, service, app } = await setup({ admission: { maxConcurrentCheckouts: 5000, perUserLimit: 4 } });
    const usConfig = await testConfig(["us"], { reservationTtlSeconds: 60, leaseTtlSeconds: 5, peers: { eu: "http://eu.test" } });
    const usService = new EscrowService({ config: usConfig, store: service.store, limiter: limiter(), clock });
    const forwarded: string[] = [];
    const usApp = buildEscrowApp(usService, clock, {
      forward: async (url, init) => {
        forwarded.push(url);
        const r = await app.inject({ method: init.method as "POST", url: url.replace("http://eu.test", ""), headers: init.headers });
        return { status: r.statusCode, body: r.body ? (r.json() as unknown) : undefined, headers: {} };
      },
    });
    const viaUs = async (id: string, who: string) => (await usApp.inject({ method: "POST", url: `/v1/reservations/${id}/commit`, headers: await as(who, "us", { nowMs: T0 }) })).statusCode;
    await create("tix", 1200);
    const id = (await call("POST", "/v1/inventory/tix/reservations", "alice", { qty: 1 })).json().reservationId as string;
    const forge = (seq: string) => `${id.slice(0, id.lastIndexOf("-") - 1)}${seq}-${"Q".repeat(16)}`;
    expect(id).toMatch(/~[0-9a-f]{8}0-/); // sequence number 0
    clock.advance(60_001);
    await service.tick(); // the sweep releases it; the ledger still holds its slot
    const answers = async () => ({
      owner: (await call("POST", `/v1/reservations/${id}/commit`, "alice")).statusCode,
      other: (await call("POST", `/v1/reservations/${id}/commit`, "mallory")).statusCode,
      forged: (await call("POST", `/v1/reservations/${forge("0")}/commit`, "alice")).statusCode,
      ownerViaUs: await viaUs(id, "alice"),
      otherViaUs: await viaUs(id, "mallory"),
      forgedViaUs: await viaUs(forge("0"), "alice"),
      otherCancels: (await call("DELETE", `/v1/reservations/${id}`, "mallory")).statusCode,
    });
    const expected = { owner: 410, other: 404, forged: 404, ownerViaUs: 410, otherViaUs: 404, forgedViaUs: 404, otherCancels: 404 };
    expect(await answers()).toEqual(expected);
    // More than 1,024 reservations swept: the ledger compacts and forgets them; their tokens still say whose they were.
    for (let i = 0; i < 1100; i++) expect((await service.reserve("eu", "tix", { user: `filler-${i}`, tier: "standard", weight: 1, admin: false }, 1))?.status).toBe("reserved");
    clock.advance(60_001);
    await service.tick();
    expect((await service.sale("tix", "eu"))!.escrow.ledger.lookup(id)).toBe("expired");
    expect(Reflect.get((await service.sale("tix", "eu"))!.escrow.ledger, "base")).toBeGreaterThan(0); // alice's slot is gone
    expect(await answers()).toEqual(expected);
    expect(await viaUs(forge("7"), "mallory")).toBe(404); // any old sequence number: still a forgery
    expect(forwarded.length).toBeGreaterThan(0);
    expect((await call("GET", "/v1/inventory/tix", null)).json()).toMatchObject({ sold: 0, reserved: 0, available: 1200 });
  });

  it("a bodiless POST with Content-Type: application/json is an empty body (qty 1), not a 400", async () => {
    const { app, create } = await setup();
    await create("tix", 3);
    const r = await app.inject({ method: "POST", url: "/v1/inventory/tix/reservations", headers: { ...(await as("u", "eu", { nowMs: T0 })), "content-type": "application/json" } });
    expect(r.statusCode).toBe(201);
    expect(r.json().qty).toBe(1);
    const c = await app.inject({
      method: "POST",
      url: `/v1/reservations/${r.json().reservationId as string}/commit`,
      headers: { ...(await as("u", "eu", { nowMs: T0 })), "content-type": "application/json" },
    });
    expect(c.statusCode).toBe(200);
    const broken = await app.inject({
      method: "POST",
      url: "/v1/inventory/tix/reservations",
      payload: "{nope",
      headers: { ...(await as("u", "eu", { nowMs: T0 })), "content-type": "application/json" },
    });
    expect(broken.statusCode).toBe(400);
  });

  it("a 64-character SKU reserves, commits and cancels (no 414)", async () => {
    const { call, create } = await setup();
    const sku = `S${"k".repeat(62)}U`;
    expect((await create(sku, 3)).statusCode).toBe(201);
    const id = (await call("POST", `/v1/inventory/${sku}/reservations`, "alice", { qty: 1 })).json().reservationId as string;
    expect((await call("POST", `/v1/reservations/${id}/commit`, "alice")).statusCode).toBe(200);
    const id2 = (await call("POST", `/v1/inventory/${sku}/reservations`, "alice", { qty: 1 })).json().reservationId as string;
    expect((await call("DELETE", `/v1/reservations/${id2}`, "alice")).statusCode).toBe(204);
  });

  it("429 with Retry-After when the per-user limiter says no; 403 past the per-user cap, across regions", async () => {
    const { call, create } = await setup({ admission: { perUserLimit: 2 } }, ["spammer"]);
    await create("tix", 100);
    const r = await call("POST", "/v1/inventory/tix/reservations", "spammer", { qty: 1 });
    expect(r.statusCode).toBe(429);
    expect(r.headers["retry-after"]).toBe("2");
    expect((await call("POST", "/v1/inventory/tix/reservations", "dan", { qty: 3 })).statusCode).toBe(403);
    const id = (await call("POST", "/v1/inventory/tix/reservations", "dan", { qty: 1 }, "eu")).json().reservationId as string;
    expect((await call("POST", "/v1/inventory/tix/reservations", "dan", { qty: 1 }, "us")).statusCode).toBe(201);
    const third = await call("POST", "/v1/inventory/tix/reservations", "dan", { qty: 1 }, "ap");
    expect(third.statusCode).toBe(403);
    expect(third.json().detail).toMatch(/holds 2 reserved and bought 0 of a per-user limit of 2 \(across every region\)/);
    await call("POST", `/v1/reservations/${id}/commit`, "dan");
    expect((await call("POST", "/v1/inventory/tix/reservations", "dan", { qty: 1 }, "ap")).statusCode).toBe(403);
    expect((await call("GET", "/v1/inventory/tix", null)).json()).toMatchObject({ sold: 1, reserved: 1 });
  });

  it("refunds put sold units back (admins only), once", async () => {
    const { call, create } = await setup();
    await create("tix", 2);
    const id = (await call("POST", "/v1/inventory/tix/reservations", "alice", { qty: 2 })).json().reservationId as string;
    await call("POST", `/v1/reservations/${id}/commit`, "alice");
    expect((await call("POST", `/v1/sales/${id}/refund`, "alice")).statusCode).toBe(403);
    expect((await call("POST", `/v1/sales/${id}/refund`, "ops", undefined, "eu", { admin: true })).json()).toMatchObject({ status: "refunded" });
    expect((await call("POST", `/v1/sales/${id}/refund`, "ops", undefined, "eu", { admin: true })).json()).toMatchObject({ status: "already-refunded" });
    expect((await call("GET", "/v1/inventory/tix", null)).json()).toMatchObject({ sold: 0, available: 2 });
    expect((await call("POST", "/v1/inventory/tix/reservations", "bob", { qty: 2 })).statusCode).toBe(201);
  });

  it("full checkouts send buyers to the waiting room; progressive admission lets them in by batch", async () => {
    const { call, create, service } = await setup({ admission: { maxConcurrentCheckouts: 2 }, waitingRoom: { trancheSize: 1 } });
    await create("tix", 100);
    await call("POST", "/v1/inventory/tix/reservations", "u1", { qty: 1 });
    const first = (await call("POST", "/v1/inventory/tix/reservations", "u2", { qty: 1 })).json().reservationId as string;
    const q3 = await call("POST", "/v1/inventory/tix/reservations", "u3", { qty: 1 });
    expect(q3.statusCode).toBe(429);
    expect(q3.json().queuePosition).toBe(1);
    expect(Number(q3.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect((await call("POST", "/v1/inventory/tix/reservations", "u4", { qty: 1 })).json().queuePosition).toBe(2);
    await call("POST", `/v1/reservations/${first}/commit`, "u2");
    expect((await call("POST", "/v1/inventory/tix/reservations", "u4", { qty: 1 })).statusCode).toBe(429);
    await service.tick();
    expect((await call("POST", "/v1/inventory/tix/reservations", "u4", { qty: 1 })).statusCode).toBe(429);
    expect((await call("POST", "/v1/inventory/tix/reservations", "u3", { qty: 1 })).statusCode).toBe(201);
  });

  it("reconciliation (admins only) reports a balanced ledger and the store's verification", async () => {
    const { call, create, service } = await setup();
    await create("tix", 7);
    await call("POST", "/v1/inventory/tix/reservations", "a", { qty: 1 });
    expect((await call("GET", "/v1/inventory/tix/reconciliation", "ops", undefined, "eu", { admin: true })).statusCode).toBe(404);
    await service.tick();
    expect((await call("GET", "/v1/inventory/tix/reconciliation", "a")).statusCode).toBe(403);
    const rep = (await call("GET", "/v1/inventory/tix/reconciliation", "ops", undefined, "eu", { admin: true })).json();
    expect(rep).toMatchObject({ total: 7, conservationDrift: 0, ok: true, verification: { action: "none" }, rebuilds: [] });
  });
});
