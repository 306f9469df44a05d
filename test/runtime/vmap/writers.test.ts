// Per-map writers: each map names who may write it (mesh peers by SPIFFE ID, from the pod's sidecar's XFCC; or a JWT
// scope, as `meridian local` uses), so quota cannot write escrow's balances and escrow cannot write quota's state —
// refused 403 naming the map, nothing applied. A config naming writers for a map it does not hold does not start.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtimeService, spiffeId } from "../../../model/services.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService, type RunningService } from "../../../runtime/kit/index.js";
import { mapService } from "../../../runtime/vmap/services.js";

const TD = "meridian.test";
const MAP_ID = spiffeId(TD, runtimeService("map"));
const QUOTA_ID = spiffeId(TD, runtimeService("quota"));
const ESCROW_ID = spiffeId(TD, runtimeService("escrow"));

let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
let map: RunningService;

beforeAll(async () => {
  auth = await localOperatorAuth(systemClock);
  map = await startService(
    mapService,
    {
      maps: ["quota", "escrow", "other"],
      writers: { quota: { spiffe: [QUOTA_ID], scope: "meridian.quota.map" }, escrow: { spiffe: [ESCROW_ID], scope: "meridian.escrow.map" } },
      server: { port: 0, auth: auth.auth, identity: { xfcc: "istio-sidecar", spiffeId: MAP_ID } },
    },
    { clock: systemClock, processMetrics: false },
  );
});
afterAll(() => map?.close());

const write = async (m: string, headers: Record<string, string>) => {
  const res = await fetch(`${map.url}/v1/maps/${m}/writes`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ writes: [{ key: "k", value: Buffer.from("v").toString("base64") }] }),
  });
  return { status: res.status, body: (await res.json()) as { revision?: number; detail?: string } };
};
const peer = (id: string) => ({ "x-forwarded-client-cert": `By=${MAP_ID};URI=${id}` });
const bearer = async (scope: string) => ({ authorization: `Bearer ${await auth.token({ scope })}` });
const revision = async (m: string) => ((await (await fetch(`${map.url}/v1/maps/${m}/root`)).json()) as { revision: number }).revision;

describe("per-map writers", () => {
  it("lets each mesh peer write its own map only; the other's write is refused naming the map, unapplied", async () => {
    expect((await write("quota", peer(QUOTA_ID))).status).toBe(200);
    expect((await write("escrow", peer(ESCROW_ID))).status).toBe(200);
    const q = await write("escrow", peer(QUOTA_ID));
    expect(q.status).toBe(403);
    expect(q.body.detail).toContain(`${QUOTA_ID} may not write map escrow`);
    const e = await write("quota", peer(ESCROW_ID));
    expect(e.status).toBe(403);
    expect(e.body.detail).toContain(`${ESCROW_ID} may not write map quota`);
    expect([await revision("quota"), await revision("escrow")]).toEqual([1, 1]);
    // A map with no writers of its own is the operators' alone; no credential at all is a 401.
    expect((await write("other", peer(QUOTA_ID))).status).toBe(403);
    expect((await write("quota", {})).status).toBe(401);
  });

  it("does the same for JWT scopes (`meridian local`); the operator scope writes only the maps without writers", async () => {
    expect((await write("escrow", await bearer("meridian.escrow.map"))).status).toBe(200);
    const r = await write("quota", await bearer("meridian.escrow.map"));
    expect(r.status).toBe(403);
    expect(r.body.detail).toMatch(/may not write map quota/);
    expect((await write("escrow", await bearer("meridian.quota.map"))).status).toBe(403);
    expect((await write("escrow", await bearer("meridian.operator"))).status).toBe(403);
    expect((await write("other", await bearer("meridian.operator"))).status).toBe(200);
  });

  it("refuses a config whose writers name a map it does not hold", () => {
    expect(() => mapService.config.parse({ maps: ["quota"], writers: { escrow: { scope: "x" } } })).toThrow(/names map escrow, which is not in maps/);
    expect(() => mapService.config.parse({ maps: ["quota"], writers: { quota: {} } })).toThrow(/spiffe IDs, a scope, or both/);
  });
});
