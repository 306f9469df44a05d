// The answers a buyer gets about their reservation (#17), over the service's HTTP routes, for every way a reservation can
// end: once it has ended, the owner's commit, cancel and GET — through the region that issued it, another region of its
// process and another process (which forwards to it), asked again and again — tell the same truth (sold, void, expired,
// cancelled, refused for the cap), also once the expiry sweep has dropped it from the ledger's window; another buyer's id
// and a forged one name nothing (404 both: nobody learns of another's reservation). After the region's process restarts
// (a new ledger) a sale is answered from the store's record, and an unsold reservation of the earlier run is gone for
// its owner (410 restarted: its owner tag checks under the store's secret, core/ids.ts) and unknown to anyone else (404),
// as runtime/escrow/README.md's guarantees state. Memory store (the restarted process is given the same store), ManualClock.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { MemoryEscrowStore, newGeneration } from "../../../runtime/escrow/store/memory.js";
import type { EscrowConfig } from "../../../runtime/escrow/config.js";
import type { EscrowRouteOptions } from "../../../runtime/escrow/transport/http.js";
import { buildEscrowApp } from "./app.js";
import { as, testConfig } from "./fixture.js";

const SKU = "tix";
const TTL_MS = 60_000;
const allow = { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) };

type Ending = "sold" | "void" | "expired" | "cancelled" | "over-cap" | "restarted";

/** What the owner is told once the reservation ended so: commit, cancel, GET (200: its body says how it ended). */
const ANSWERS: Record<Ending, { commit: number; cancel: number; get: number }> = {
  sold: { commit: 200, cancel: 409, get: 200 },
  void: { commit: 409, cancel: 409, get: 200 },
  expired: { commit: 410, cancel: 410, get: 200 },
  // A cancel asked again answers as the first did (204: idempotent, a retry after a lost answer).
  cancelled: { commit: 410, cancel: 204, get: 200 },
  // The store refused the sale for the buyer's cap (their holds and purchases elsewhere): released, told so again.
  "over-cap": { commit: 403, cancel: 403, get: 200 },
  // Ended with an earlier run of its region's process (whatever ended it before): gone.
  restarted: { commit: 410, cancel: 410, get: 200 },
};

/** What the memory store's rebuild by another process leaves (as the journaled store's verify): a new generation, no leases. */
function rebuild(store: MemoryEscrowStore): void {
  const item = (Reflect.get(store, "items") as Map<string, { generation: string; total: number; sold: number; pool: number; leases: Map<string, unknown> }>).get(SKU)!;
  item.generation = newGeneration();
  item.pool = item.total - item.sold;
  item.leases.clear();
}

/** The next recordSales applies the batch (or not), then throws: the answer was lost. */
function loseNextAnswer(store: MemoryEscrowStore, applied: boolean): void {
  const record = store.recordSales.bind(store);
  store.recordSales = async (...args) => {
    store.recordSales = record;
    if (applied) await record(...args);
    throw new Error("Connection terminated unexpectedly");
  };
}

/** The next recordSales refuses every sale for the buyer's cap (bought elsewhere meanwhile). */
function refuseNextForCap(store: MemoryEscrowStore): void {
  const record = store.recordSales.bind(store);
  store.recordSales = async (_sku, _region, _fence, sales) => {
    store.recordSales = record;
    return sales.map(() => "over-cap" as const);
  };
}

async function world() {
  const clock = new ManualClock(1_000_000);
  const store = new MemoryEscrowStore();
  const config = await testConfig(["eu", "us"], {
    reservationTtlSeconds: TTL_MS / 1000,
    leaseTtlSeconds: 600,
    admission: { perUserLimit: 10, userRatePerSecond: 1000, userBurst: 1000, maxConcurrentCheckouts: 100 },
    skus: [{ sku: SKU, total: 3000, globalReserve: 0, allocation: { eu: 2000, us: 1000 }, refill: { batchSize: 5, reorderPoints: { eu: 0, us: 0 } } }],
  });
  const w = { clock, store, config, ...serve(config, store, clock) };
  await w.service.createConfigured();
  // Another process, serving region ap alone: it forwards eu's reservations to the process serving eu (`target`).
  const target = { app: w.app };
  const peer = serve(await testConfig(["ap"], { peers: { eu: "http://eu.test" } }), store, clock, {
    forward: async (url, init) => {
      const r = await target.app.inject({ method: init.method as "GET", url: url.replace("http://eu.test", ""), headers: init.headers });
      return { status: r.statusCode, body: r.body ? (r.json() as unknown) : undefined, headers: {} };
    },
  });
  return { ...w, target, peer };
}

function serve(config: EscrowConfig, store: MemoryEscrowStore, clock: ManualClock, opts: EscrowRouteOptions = {}) {
  const service = new EscrowService({ config, store, clock, limiter: allow });
  const app = buildEscrowApp(service, clock, opts);
  const call = async (method: "GET" | "POST" | "DELETE", url: string, user: string, region: string, payload?: object) =>
    app.inject({ method, url, payload, headers: await as(user, region, { nowMs: clock.now() }) });
  const ops = {
    reserve: async (user = "ann", region = "eu") => {
      const r = await call("POST", `/v1/inventory/${SKU}/reservations`, user, region, { qty: 1 });
      expect(r.statusCode).toBe(201);
      return r.json().reservationId as string;
    },
    commit: (id: string, user = "ann", region = "eu") => call("POST", `/v1/reservations/${encodeURIComponent(id)}/commit`, user, region),
    cancel: (id: string, user = "ann", region = "eu") => call("DELETE", `/v1/reservations/${encodeURIComponent(id)}`, user, region),
    get: (id: string, user = "ann", region = "eu") => call("GET", `/v1/reservations/${encodeURIComponent(id)}`, user, region),
  };
  return { service, app, ...ops };
}

type World = Awaited<ReturnType<typeof world>>;

/** Reservations the ledger issues beyond its compaction threshold, so that the next sweep drops the window before them. */
async function fill(w: World): Promise<void> {
  const escrow = (await w.service.sale(SKU, "eu"))!.escrow;
  for (let i = 0; i < 1100; i++) expect(escrow.tryReserveSeq(`filler${i}`, 1)).toBeGreaterThanOrEqual(0);
}

/** Each way a reservation of ann's ends: how it gets there, and the ending the answers must tell. */
const PATHS: { name: string; ends: Ending; run: (w: World, id: string) => Promise<void> }[] = [
  {
    name: "committed (acknowledged)",
    ends: "sold",
    run: async (w, id) => expect((await w.commit(id)).statusCode).toBe(200),
  },
  {
    name: "committed, its answer lost (503), the retry joins the re-send",
    ends: "sold",
    run: async (w, id) => {
      loseNextAnswer(w.store, true);
      expect((await w.commit(id)).statusCode).toBe(503);
    },
  },
  {
    name: "commit in doubt (503), resolved by the next tick",
    ends: "sold",
    run: async (w, id) => {
      loseNextAnswer(w.store, true);
      expect((await w.commit(id)).statusCode).toBe(503);
      await w.service.tick();
    },
  },
  {
    name: "commit in doubt (never applied), resolved by the next tick",
    ends: "sold",
    run: async (w, id) => {
      loseNextAnswer(w.store, false);
      expect((await w.commit(id)).statusCode).toBe(503);
      await w.service.tick();
    },
  },
  {
    name: "voided by a rebuild (the tick's renewal)",
    ends: "void",
    run: async (w) => {
      rebuild(w.store);
      await w.service.tick();
    },
  },
  {
    name: "commit refused lease-lost (store rebuilt)",
    ends: "void",
    run: async (w, id) => {
      rebuild(w.store);
      expect((await w.commit(id)).statusCode).toBe(409);
      await w.service.tick();
    },
  },
  {
    name: "commit in doubt, refused lease-lost when re-sent",
    ends: "void",
    run: async (w, id) => {
      loseNextAnswer(w.store, false);
      expect((await w.commit(id)).statusCode).toBe(503);
      rebuild(w.store);
      await w.service.tick();
      await w.service.tick();
    },
  },
  {
    name: "voided, then swept out of the window",
    ends: "void",
    run: async (w) => {
      await fill(w);
      rebuild(w.store);
      await w.service.tick();
      w.clock.advance(TTL_MS + 1);
      await w.service.tick();
    },
  },
  {
    name: "expired (the sweep)",
    ends: "expired",
    run: async (w) => {
      w.clock.advance(TTL_MS + 1);
      await w.service.tick();
    },
  },
  {
    name: "expired, not swept yet",
    ends: "expired",
    run: async (w) => w.clock.advance(TTL_MS + 1),
  },
  {
    name: "expired, not swept yet: the owner cancels first",
    ends: "expired",
    run: async (w, id) => {
      w.clock.advance(TTL_MS + 1);
      expect((await w.cancel(id)).statusCode).toBe(410);
    },
  },
  {
    name: "expired, then swept out of the window",
    ends: "expired",
    run: async (w) => {
      await fill(w);
      w.clock.advance(TTL_MS + 1);
      await w.service.tick();
    },
  },
  {
    name: "commit refused for the buyer's cap",
    ends: "over-cap",
    run: async (w, id) => {
      refuseNextForCap(w.store);
      expect((await w.commit(id)).statusCode).toBe(403);
    },
  },
  {
    name: "commit refused for the buyer's cap, then swept out of the window",
    ends: "over-cap",
    run: async (w, id) => {
      refuseNextForCap(w.store);
      expect((await w.commit(id)).statusCode).toBe(403);
      await fill(w);
      w.clock.advance(TTL_MS + 1);
      await w.service.tick();
    },
  },
  {
    name: "cancelled",
    ends: "cancelled",
    run: async (w, id) => expect((await w.cancel(id)).statusCode).toBe(204),
  },
  {
    name: "cancelled, then swept out of the window",
    ends: "cancelled",
    run: async (w, id) => {
      expect((await w.cancel(id)).statusCode).toBe(204);
      await fill(w);
      w.clock.advance(TTL_MS + 1);
      await w.service.tick();
    },
  },
  {
    name: "cancelled after a commit whose answer was lost but which sold",
    ends: "sold",
    run: async (w, id) => {
      loseNextAnswer(w.store, true);
      expect((await w.commit(id)).statusCode).toBe(503);
      expect((await w.cancel(id)).statusCode).toBe(409);
    },
  },
  {
    name: "cancelled after a commit whose answer was lost and which never reached the store",
    ends: "cancelled",
    run: async (w, id) => {
      loseNextAnswer(w.store, false);
      expect((await w.commit(id)).statusCode).toBe(503);
      expect((await w.cancel(id)).statusCode).toBe(204);
    },
  },
];

/** A forged id (the token changed). */
function forge(id: string): string {
  const t = id.slice(-16);
  return id.slice(0, -16) + (t[0] === "A" ? "B" : "A") + t.slice(1);
}

type Ops = Pick<World, "commit" | "cancel" | "get">;

/** Through eu (its region), us (another region of its process), ap (another process, which forwards), eu again. */
async function expectAnswers(eu: Ops, ap: Ops, id: string, ends: Ending | "unknown"): Promise<void> {
  const want = ends === "unknown" ? { commit: 404, cancel: 404, get: 404 } : ANSWERS[ends];
  for (const [w, region] of [
    [eu, "eu"],
    [eu, "us"],
    [ap, "ap"],
    [eu, "eu"],
  ] as const) {
    // Asked twice each, in an order that would show an answer changing the next one.
    for (const op of ["get", "commit", "cancel", "get", "cancel", "commit"] as const) {
      const r = await w[op](id, "ann", region);
      expect({ region, op, status: r.statusCode }).toEqual({ region, op, status: want[op] });
      if (op === "get" && r.statusCode === 200) expect(r.json()).toMatchObject({ reservationId: id, status: ends });
    }
    for (const op of ["commit", "cancel", "get"] as const) {
      const bob = await w[op](id, "bob", region);
      expect({ region, op, bob: bob.statusCode }).toEqual({ region, op, bob: 404 });
      const forgedForBob = (await w[op](forge(id), "bob", region)).body.replaceAll(forge(id), id);
      expect(bob.body).toBe(forgedForBob); // not told apart from a forged id
      expect({ region, op, forged: (await w[op](forge(id), "ann", region)).statusCode }).toEqual({ region, op, forged: 404 });
    }
  }
}

describe("escrow: the answers about a reservation that has ended", () => {
  it.each(PATHS)("$name: $ends, through any region or process, stable; after a restart as documented", async ({ ends, run }) => {
    const w = await world();
    const id = await w.reserve();
    await w.reserve("bob"); // another buyer of the same region
    expect((await w.get(id, "ann", "us")).json()).toMatchObject({ reservationId: id, status: "reserved", qty: 1 });
    await run(w, id);
    await expectAnswers(w, w.peer, id, ends);
    // eu's process restarts: a new ledger, which checks the earlier run's owner tags under the store's secret.
    const restarted = serve(w.config, w.store, w.clock);
    w.target.app = restarted.app;
    await restarted.reserve("cy");
    await expectAnswers(restarted, w.peer, id, ends === "sold" ? "sold" : "restarted");
  });
});

describe("escrow: the answers while a commit is on its way", () => {
  it("the owner's cancel is told the commit is in progress (409), not unknown; the GET says committing; then sold", async () => {
    const w = await world();
    const id = await w.reserve();
    const record = w.store.recordSales.bind(w.store);
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    w.store.recordSales = async (...args) => {
      await gate; // the store write is slow
      return record(...args);
    };
    const committing = w.commit(id);
    await new Promise((r) => setTimeout(r, 20)); // the commit has begun and its write is out
    for (const [ops, region] of [
      [w, "eu"],
      [w, "us"],
      [w.peer, "ap"],
    ] as const) {
      expect({ region, cancel: (await ops.cancel(id, "ann", region)).statusCode }).toEqual({ region, cancel: 409 });
      expect((await ops.get(id, "ann", region)).json()).toMatchObject({ status: "committing" });
      expect({ region, commit: (await ops.commit(id, "ann", region)).statusCode }).toEqual({ region, commit: 409 });
      expect({ region, bob: (await ops.cancel(id, "bob", region)).statusCode }).toEqual({ region, bob: 404 });
    }
    open();
    expect((await committing).statusCode).toBe(200);
    await expectAnswers(w, w.peer, id, "sold");
  });
});
