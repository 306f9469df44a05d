// Adversarial reservation ids (runtime/escrow/README.md: "Buyers are who their token says", "Honest answers", "A
// reservation's end is told the same way every time"): bob, a verified buyer, tries to learn whether ann's id exists
// (live, sold, cancelled, expired) and to act on it — bit-flipped tokens, ann's owner tag moved onto his token, his
// and her ids spliced (sequence, incarnation, SKU, region), truncated, over-long, uppercase, percent-encoded and
// non-canonical spellings — through the issuing region, another region of its process and another process (which
// forwards). Every attempt must answer exactly as a made-up id (status, body with the id swapped, headers) and change
// nothing; no id shape may cause a 500. After the region's process restarts, only the owner's own id may answer 410.
// Memory store, ManualClock, in-process apps (app.inject), as answers.test.ts.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { escrowServiceConfig } from "../../../model/escrow/config.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { MAX_RESERVATION_ID_LENGTH, parseReservationId } from "../../../runtime/escrow/core/ids.js";
import { defineEscrowService } from "../../../runtime/escrow/index.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { MemoryEscrowStore, newGeneration } from "../../../runtime/escrow/store/memory.js";
import type { EscrowConfig } from "../../../runtime/escrow/config.js";
import type { EscrowRouteOptions } from "../../../runtime/escrow/transport/http.js";
import { startService } from "../../../runtime/kit/index.js";
import { loadStack } from "../../../stacks/load.js";
import { buildEscrowApp } from "./app.js";
import { as, issuerKeys, testConfig } from "./fixture.js";

const SKU = "tix";
const OTHER_SKU = "gig";
const TTL_MS = 60_000;
const allow = { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) };

type Op = "commit" | "cancel" | "get";
const OPS: readonly Op[] = ["get", "commit", "cancel"];

function serve(config: EscrowConfig, store: MemoryEscrowStore, clock: ManualClock, opts: EscrowRouteOptions = {}) {
  const service = new EscrowService({ config, store, clock, limiter: allow });
  const app = buildEscrowApp(service, clock, opts);
  const call = async (method: "GET" | "POST" | "DELETE", url: string, user: string, region: string, payload?: object) =>
    app.inject({ method, url, payload, headers: await as(user, region, { nowMs: clock.now() }) });
  const path = (id: string, raw: boolean) => `/v1/reservations/${raw ? id : encodeURIComponent(id)}`;
  const ops = {
    reserve: async (user = "ann", region = "eu", sku = SKU) => {
      const r = await call("POST", `/v1/inventory/${sku}/reservations`, user, region, { qty: 1 });
      expect(r.statusCode).toBe(201);
      return r.json().reservationId as string;
    },
    /** `raw`: the id goes into the path as given (not percent-encoded by the test). */
    op: (op: Op, id: string, user: string, region = "eu", raw = false) =>
      op === "commit" ? call("POST", `${path(id, raw)}/commit`, user, region) : call(op === "get" ? "GET" : "DELETE", path(id, raw), user, region),
  };
  return { service, app, ...ops };
}

async function world() {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryEscrowStore();
  const refill = { batchSize: 5, reorderPoints: { eu: 0, us: 0 } };
  const config = await testConfig(["eu", "us"], {
    reservationTtlSeconds: TTL_MS / 1000,
    leaseTtlSeconds: 600,
    admission: { perUserLimit: 10, userRatePerSecond: 1000, userBurst: 1000, maxConcurrentCheckouts: 100 },
    skus: [
      { sku: SKU, total: 300, globalReserve: 0, allocation: { eu: 200, us: 100 }, refill },
      { sku: OTHER_SKU, total: 300, globalReserve: 0, allocation: { eu: 200, us: 100 }, refill },
    ],
  });
  const eu = serve(config, store, clock);
  await eu.service.createConfigured();
  const target = { app: eu.app };
  const ap = serve(await testConfig(["ap"], { peers: { eu: "http://eu.test" } }), store, clock, {
    forward: async (url, init) => {
      const r = await target.app.inject({ method: init.method as "GET", url: url.replace("http://eu.test", ""), headers: init.headers });
      return { status: r.statusCode, body: r.body ? (r.json() as unknown) : undefined, headers: {} };
    },
  });
  return { clock, store, config, eu, ap, target };
}
type World = Awaited<ReturnType<typeof world>>;

/** What an answer shows, the id it names replaced by `ID` (a made-up id is echoed too) and the date left out. */
function shown(r: { statusCode: number; headers: Record<string, unknown>; body: string }, id: string) {
  const headers = Object.fromEntries(
    Object.entries(r.headers)
      .filter(([k]) => k !== "date")
      .map(([k, v]) => [k, k === "content-length" ? Number(v) - Buffer.byteLength(r.body) : v]),
  );
  return { status: r.statusCode, headers, body: r.body.replaceAll(JSON.stringify(id).slice(1, -1), "ID").replaceAll(encodeURIComponent(id), "ID") };
}

/** The token's bit `bit` (0 = most significant of its 96) flipped. */
function flipBit(id: string, bit: number): string {
  const t = Buffer.from(id.slice(-16), "base64url");
  t[bit >> 3]! ^= 0x80 >> (bit & 7);
  return id.slice(0, -16) + t.toString("base64url");
}

const tokenOf = (id: string) => Buffer.from(id.slice(-16), "base64url");
const withToken = (id: string, t: Buffer) => id.slice(0, -16) + t.toString("base64url");
/** A made-up id of the same shape and length as `id` (a fresh random token). */
const madeUp = (id: string) => withToken(id, randomBytes(12));
const withSeq = (id: string, seq: string) => id.replace(/^(.*~[0-9a-f]{8})[0-9a-z]+-/, `$1${seq}-`);
const withNonce = (id: string, nonce: string) => id.replace(/~[0-9a-f]{8}/, `~${nonce}`);

/** Ids bob builds from ann's (`a`) and his own (`b`, same region and SKU unless said): none may reach hers. */
function attacks(a: string, b: string, bOtherSku: string, bUs: string): Record<string, string> {
  const pa = parseReservationId(a)!;
  const pb = parseReservationId(b)!;
  const out: Record<string, string> = {};
  for (const bit of [0, 1, 7, 8, 35, 64, 71, 72, 73, 80, 88, 95]) out[`bit ${bit} flipped`] = flipBit(a, bit);
  // Ann's owner tag moved onto bob's token, and bob's onto hers.
  out["bob's first 72 bits, ann's tag"] = withToken(b, Buffer.concat([tokenOf(b).subarray(0, 9), tokenOf(a).subarray(9)]));
  out["ann's first 72 bits, bob's tag"] = withToken(a, Buffer.concat([tokenOf(a).subarray(0, 9), tokenOf(b).subarray(9)]));
  // Ann's token under bob's sequence number, another SKU, another region, another incarnation; bob's under hers.
  out["ann's token, bob's seq"] = withSeq(a, pb.seq.toString(36));
  out["bob's token, ann's seq"] = withSeq(b, pa.seq.toString(36));
  out["ann's token, next seq"] = withSeq(a, (pa.seq + 1).toString(36));
  out["ann's token, other SKU"] = withToken(bOtherSku, tokenOf(a));
  out["ann's token, other region"] = withToken(bUs, tokenOf(a));
  out["ann's token, region us"] = a.replace(/^eu~/, "us~");
  out["ann's token, other incarnation"] = withNonce(a, pa.incarnation === "00000000" ? "00000001" : "00000000");
  out["ann's id, nonce uppercase"] = withNonce(a, pa.incarnation.toUpperCase());
  // Spellings of ann's id: non-canonical sequence number, case, truncation, extension, padding, standard base64.
  out["ann's id, seq with a leading zero"] = withSeq(a, `0${pa.seq.toString(36)}`);
  out["ann's id, seq uppercase"] = withSeq(a, pa.seq.toString(36).toUpperCase() === pa.seq.toString(36) ? "Z" : pa.seq.toString(36).toUpperCase());
  out["ann's id uppercase"] = a.toUpperCase();
  out["ann's id, SKU uppercase"] = a.replace(`~${SKU}~`, `~${SKU.toUpperCase()}~`);
  out["ann's id truncated by one"] = a.slice(0, -1);
  out["ann's id truncated to its prefix"] = a.slice(0, a.lastIndexOf("-") + 1);
  out["ann's id and one more character"] = `${a}A`;
  out["ann's id padded"] = `${a}=`;
  out["ann's id, standard base64"] = a.slice(0, -16) + tokenOf(a).toString("base64");
  out["ann's id, trailing newline"] = `${a}\n`;
  out["ann's id, leading space"] = ` ${a}`;
  out["ann's id twice"] = `${a}${a}`.slice(0, MAX_RESERVATION_ID_LENGTH);
  return out;
}

/** Ann's id brought to each state. */
const STATES: { name: string; ends: string; run: (w: World, id: string) => Promise<void> }[] = [
  { name: "live", ends: "reserved", run: async () => undefined },
  { name: "sold", ends: "sold", run: async (w, id) => expect((await w.eu.op("commit", id, "ann")).statusCode).toBe(200) },
  { name: "cancelled", ends: "cancelled", run: async (w, id) => expect((await w.eu.op("cancel", id, "ann")).statusCode).toBe(204) },
  {
    name: "voided (the store rebuilt by another process)",
    ends: "void",
    run: async (w) => {
      const item = (Reflect.get(w.store, "items") as Map<string, { generation: string; total: number; sold: number; pool: number; leases: Map<string, unknown> }>).get(SKU)!;
      item.generation = newGeneration();
      item.pool = item.total - item.sold;
      item.leases.clear();
      await w.eu.service.tick();
    },
  },
  {
    name: "expired and swept",
    ends: "expired",
    run: async (w) => {
      w.clock.advance(TTL_MS + 1);
      await w.eu.service.tick();
    },
  },
];

async function snapshot(w: World) {
  const inv = await w.eu.app.inject({ method: "GET", url: `/v1/inventory/${SKU}`, headers: { "x-region": "eu" } });
  return inv.json() as unknown;
}

describe("escrow ids: another buyer learns nothing of ann's reservation and cannot act on it", () => {
  it.each(STATES)("ann's id $name: bob's every id, through eu, us and ap, answers as a made-up one and changes nothing", async ({ ends, run }) => {
    const w = await world();
    const a = await w.eu.reserve("ann");
    const b = await w.eu.reserve("bob");
    const bOtherSku = await w.eu.reserve("bob", "eu", OTHER_SKU);
    const bUs = await w.eu.reserve("bob", "us");
    await run(w, a);
    const annBefore = shown(await w.eu.op("get", a, "ann"), a);
    expect(JSON.parse(annBefore.body)).toMatchObject({ status: ends });
    const before = await snapshot(w);
    const tries = { "ann's id": a, ...attacks(a, b, bOtherSku, bUs) };
    for (const [via, region] of [
      [w.eu, "eu"],
      [w.eu, "us"],
      [w.ap, "ap"],
    ] as const) {
      for (const op of OPS) {
        for (const [name, id] of Object.entries(tries)) {
          const got = shown(await via.op(op, id, "bob", region), id);
          const fake = madeUp(a);
          const want = shown(await via.op(op, fake, "bob", region), fake);
          // An id the route's input check refuses (too long) is refused the same way for any id of its length.
          if (id.length > MAX_RESERVATION_ID_LENGTH) expect({ name, region, op, status: got.status }).toEqual({ name, region, op, status: 400 });
          else expect({ name, region, op, ...got }).toEqual({ name, region, op, ...want });
        }
      }
    }
    expect(await snapshot(w)).toEqual(before);
    expect(shown(await w.eu.op("get", a, "ann"), a)).toEqual(annBefore);
  });

  it("non-canonical spellings of ann's own id name nothing: her id is one string, its sale one record", async () => {
    const w = await world();
    const a = await w.eu.reserve("ann");
    const seq = parseReservationId(a)!.seq.toString(36);
    for (const alt of [withSeq(a, `0${seq}`), withSeq(a, `00${seq}`)]) {
      for (const op of OPS) {
        const got = shown(await w.eu.op(op, alt, "ann"), alt);
        const fake = madeUp(a);
        expect({ op, alt, ...got }).toEqual({ op, alt, ...shown(await w.eu.op(op, fake, "ann"), fake) });
      }
    }
    for (const alt of [withSeq(a, `0${seq}`), withSeq(a, `00${seq}`)]) expect(parseReservationId(alt)).toBeNull();
    // Before: the commit of a spelling sold the reservation under that spelling, and the id ann was issued then answered
    // 404 (and, after a restart, 410 "unsold: nothing was charged; reserve again") although she had bought it.
    expect((await w.eu.op("get", a, "ann")).json()).toMatchObject({ status: "reserved" });
    expect((await w.eu.op("commit", a, "ann")).json()).toMatchObject({ status: "sold", duplicate: false });
    const restarted = serve(w.config, w.store, w.clock);
    expect((await restarted.op("get", a, "ann")).json()).toMatchObject({ reservationId: a, status: "sold" });
  });

  it("no id shape causes a 500 (raw paths, through eu and ap)", async () => {
    const w = await world();
    const a = await w.eu.reserve("ann");
    const p = parseReservationId(a)!;
    const shapes = [
      "%00",
      "%ff%fe",
      "%E2%80%8B",
      "..",
      "%2e%2e",
      "a%2Fb",
      encodeURIComponent(a).replaceAll("~", "%7E"),
      encodeURIComponent(a).replaceAll("~", "%7e"),
      encodeURIComponent(withSeq(a, "zzzzzzzzzzz")),
      encodeURIComponent(withSeq(a, "1zzzzzzzzzz")),
      encodeURIComponent(withSeq(a, "0")),
      encodeURIComponent(`${p.region}~${SKU}~${p.incarnation}0-${"A".repeat(16)}`),
      encodeURIComponent(`nowhere~${SKU}~${p.incarnation}1-${"A".repeat(16)}`),
      encodeURIComponent(`eu~nosuchsku~${p.incarnation}1-${"A".repeat(16)}`),
      encodeURIComponent(`eu~${"S".repeat(64)}~${p.incarnation}1-${"A".repeat(16)}`),
      encodeURIComponent(`${"r".repeat(40)}~${"S".repeat(64)}~${p.incarnation}${"z".repeat(10)}-${"A".repeat(16)}`),
      "x".repeat(MAX_RESERVATION_ID_LENGTH + 1),
      "~~~",
      "-",
      "%25",
    ];
    for (const [via, region] of [
      [w.eu, "eu"],
      [w.ap, "ap"],
    ] as const) {
      for (const op of OPS) {
        for (const s of shapes) {
          const r = await via.op(op, s, "bob", region, true);
          expect({ s, op, region, status: r.statusCode < 500 }).toEqual({ s, op, region, status: true });
        }
      }
    }
    expect((await w.eu.op("get", a, "ann")).json()).toMatchObject({ status: "reserved" });
  });
});

describe("escrow ids after a restart: 410 only for the owner's own unsold id", () => {
  it("bob's splices of ann's and his own ids answer 404 as a made-up one; his own id 410; ann's 410 to her only", async () => {
    const w = await world();
    const a = await w.eu.reserve("ann");
    const b = await w.eu.reserve("bob");
    const bOtherSku = await w.eu.reserve("bob", "eu", OTHER_SKU);
    const bUs = await w.eu.reserve("bob", "us");
    const sold = await w.eu.reserve("ann");
    expect((await w.eu.op("commit", sold, "ann")).statusCode).toBe(200);
    const restarted = serve(w.config, w.store, w.clock);
    w.target.app = restarted.app;
    await restarted.reserve("cy");
    const tries = { "ann's id": a, "ann's sold id": sold, ...attacks(a, b, bOtherSku, bUs), ...attacks(sold, b, bOtherSku, bUs) };
    for (const [via, region] of [
      [restarted, "eu"],
      [restarted, "us"],
      [w.ap, "ap"],
    ] as const) {
      for (const op of OPS) {
        for (const [name, id] of Object.entries(tries)) {
          if (id.length > MAX_RESERVATION_ID_LENGTH) continue;
          const got = shown(await via.op(op, id, "bob", region), id);
          const fake = madeUp(a);
          expect({ name, region, op, ...got }).toEqual({ name, region, op, ...shown(await via.op(op, fake, "bob", region), fake) });
        }
        // Bob's own unsold id, from the earlier run: gone (410; GET 200 restarted). Ann's: 410 to her.
        expect({ region, op, status: (await via.op(op, b, "bob", region)).statusCode }).toEqual({ region, op, status: op === "get" ? 200 : 410 });
        expect({ region, op, status: (await via.op(op, a, "ann", region)).statusCode }).toEqual({ region, op, status: op === "get" ? 200 : 410 });
      }
    }
    // Bob's own id under a non-canonical sequence number is no id: 404, as a made-up one (not 410).
    const alt = withSeq(b, `0${parseReservationId(b)!.seq.toString(36)}`);
    for (const op of OPS) {
      const fake = madeUp(b);
      expect({ op, ...shown(await restarted.op(op, alt, "bob"), alt) }).toEqual({ op, ...shown(await restarted.op(op, fake, "bob"), fake) });
    }
    expect((await restarted.op("commit", sold, "ann")).json()).toMatchObject({ status: "sold", duplicate: true });
  });
});

describe("escrow ids on the served process (the kit's headers: x-meridian-*, content-length)", () => {
  it("bob's GET, commit and cancel of ann's live and sold ids show the same headers and body as a made-up id's", async () => {
    const rendered = escrowServiceConfig(buildEstateSpec("local", loadStack("local")), { regions: ["local-aws"] });
    const identity = { ...rendered.identity, issuer: "https://id.test.example", jwks: { keys: [(await issuerKeys()).publicJwk] } };
    const svc = await startService(defineEscrowService(), { ...rendered, identity, server: { port: 0 } }, { processMetrics: false });
    try {
      const call = async (method: string, path: string, user: string) => {
        const res = await fetch(`${svc.url}${path}`, { method, headers: { ...(await as(user, "local-aws")), "content-type": "application/json" }, body: method === "POST" ? "{}" : undefined });
        const body = await res.text();
        return { status: res.status, headers: Object.fromEntries(res.headers), body };
      };
      const reserve = async () => {
        const r = await call("POST", "/v1/inventory/concert-2027/reservations", "ann");
        expect(r.status).toBe(201);
        return (JSON.parse(r.body) as { reservationId: string }).reservationId;
      };
      const live = await reserve();
      const sold = await reserve();
      expect((await call("POST", `/v1/reservations/${encodeURIComponent(sold)}/commit`, "ann")).status).toBe(200);
      /** Header names all, values but the HLC's and the times (they move with time). */
      const seen = (r: { status: number; headers: Record<string, string>; body: string }, id: string) => ({
        status: r.status,
        headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, ["date", "x-meridian-hlc", "x-meridian-time"].includes(k) ? "*" : v])),
        body: r.body.replaceAll(id, "ID"),
      });
      for (const id of [live, sold]) {
        for (const [method, path] of [
          ["GET", ""],
          ["POST", "/commit"],
          ["DELETE", ""],
        ] as const) {
          const fake = madeUp(id);
          const got = seen(await call(method, `/v1/reservations/${encodeURIComponent(id)}${path}`, "bob"), id);
          const want = seen(await call(method, `/v1/reservations/${encodeURIComponent(fake)}${path}`, "bob"), fake);
          expect({ method, ...got }).toEqual({ method, ...want });
          expect(got.status).toBe(404);
        }
      }
      expect(JSON.parse((await call("GET", `/v1/reservations/${encodeURIComponent(live)}`, "ann")).body)).toMatchObject({ status: "reserved" });
    } finally {
      await svc.close();
    }
  });
});
