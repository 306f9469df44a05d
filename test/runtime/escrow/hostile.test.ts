// The hostile-input suite against `meridian escrow serve` on the service kit: malformed and oversized bodies,
// long paths and heads, slowloris and abandoned bodies, many idle connections, and forged identities (headers a
// client can set, an unsigned JWT) on the buyer and admin routes — each refused clearly, the inventory and the
// HTLC ledger (atomic swaps) unchanged.
import { createHash } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { escrowServiceConfig } from "../../../model/escrow/config.js";
import { defineEscrowService } from "../../../runtime/escrow/index.js";
import { startService } from "../../../runtime/kit/index.js";
import { loadStack } from "../../../stacks/load.js";
import { hostileHttpSuite, type HostileRoute } from "../../hostile.js";
import { as, issuerKeys } from "./fixture.js";

const SKU = "concert-2027";
const ASSET = "tickets";
const LOCK = "swap-1";
let running: Awaited<ReturnType<typeof start>>;
let reservationId = "";
const start = async () => {
  const rendered = escrowServiceConfig(buildEstateSpec("local", loadStack("local")), { regions: ["local-aws"] });
  const identity = { ...rendered.identity, issuer: "https://id.test.example", jwks: { keys: [(await issuerKeys()).publicJwk] } };
  return startService(defineEscrowService(), { ...rendered, identity, server: { port: 0, timeouts: { headersMs: 500, requestMs: 1000 } } }, { processMetrics: false });
};

beforeAll(async () => {
  running = await start();
  // One live reservation, so the commit and cancel probes aim at something real.
  const res = await fetch(`${running.url}/v1/inventory/${SKU}/reservations`, { method: "POST", headers: { ...(await as("holder", "local-aws")), "content-type": "application/json" }, body: "{}" });
  reservationId = ((await res.json()) as { reservationId: string }).reservationId;
  // One live hash time-lock, so the claim and refund probes aim at something real.
  await running.parts.htlc.mint(ASSET, "alice", 10);
  const hashlock = createHash("sha256").update("preimage").digest("hex");
  const lock = await running.parts.htlc.lock({ id: LOCK, asset: ASSET, owner: "alice", recipient: "bob", qty: 4, hashlock, timelockMs: Date.now() + 3600_000 }, Date.now());
  if (!lock.ok) throw new Error(`fixture lock refused: ${lock.reason}`);
});
afterAll(() => running?.close());

const region = { "x-region": "local-aws" };
const routes = (): HostileRoute[] => [
  { method: "POST", path: `/v1/inventory/${SKU}/reservations`, headers: region, json: true },
  { method: "POST", path: `/v1/inventory/${SKU}`, headers: region, json: true },
  { method: "POST", path: `/v1/inventory/${SKU}/queue`, headers: region, json: true },
  { method: "POST", path: `/v1/reservations/${reservationId}/commit`, headers: region, json: true },
  { method: "DELETE", path: `/v1/reservations/${reservationId}`, headers: region },
  { method: "POST", path: `/v1/sales/${reservationId}/refund`, headers: region, json: true },
  { method: "GET", path: `/v1/inventory/${SKU}`, headers: region },
  { method: "GET", path: `/v1/inventory/${SKU}/reconciliation`, headers: region },
  { method: "POST", path: `/v1/htlc/assets/${ASSET}/mint`, json: true },
  { method: "GET", path: `/v1/htlc/assets/${ASSET}/balances/alice` },
  { method: "POST", path: "/v1/htlc/locks", json: true },
  { method: "POST", path: `/v1/htlc/locks/${LOCK}/claim`, json: true },
  { method: "POST", path: `/v1/htlc/locks/${LOCK}/refund`, json: true },
];
const publicReads = new Set([`/v1/inventory/${SKU}`]);

hostileHttpSuite("meridian escrow serve", () => ({
  url: running.url,
  routes: routes(),
  protectedRoutes: routes().filter((r) => !publicReads.has(r.path) || r.method !== "GET"),
  state: async () => {
    const view = await running.parts.service.inventory(SKU);
    const lock = await running.parts.htlc.get(LOCK);
    return {
      inventory: { total: view?.total, sold: view?.sold, reserved: view?.reserved, available: view?.available, pool: view?.pool },
      htlc: { totals: await running.parts.htlc.totals(ASSET), lock: lock && { status: lock.status, qty: lock.qty, preimage: lock.preimage } },
    };
  },
  slowlorisWaitMs: 4000,
}));
