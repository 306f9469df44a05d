import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { startEscrowServer, type EscrowServer } from "../../../runtime/escrow/serve.js";
import { loadStack } from "../../../stacks/load.js";

describe("startEscrowServer (what `meridian escrow serve` and `meridian local` run)", () => {
  const spec = buildEstateSpec("local", loadStack("local"));
  let server: EscrowServer;
  beforeAll(async () => {
    server = await startEscrowServer({ spec, regions: ["local-aws", "local-gcp"], port: 0 });
  });
  afterAll(() => server?.close());

  it("creates the stack's inventory and sells through the HTTP API", async () => {
    const headers = { "content-type": "application/json", "x-region": "local-aws" };
    const res = await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, { method: "POST", headers, body: JSON.stringify({ user: "u1", qty: 2 }) });
    expect(res.status).toBe(201);
    const { reservationId } = (await res.json()) as { reservationId: string };
    expect((await fetch(`${server.url}/v1/reservations/${reservationId}/commit`, { method: "POST", headers: { "x-region": "local-aws" } })).status).toBe(200);
    const view = (await (await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-gcp" } })).json()) as { total: number; sold: number };
    expect(view).toMatchObject({ total: 1000, sold: 2 });
  });

  it("propagates the HLC: answers carry it, a timestamp beyond max offset is refused and changes nothing", async () => {
    const ok = await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws" } });
    expect(ok.headers.get("x-meridian-hlc")).toMatch(/^\d+\.\d+$/);
    const ahead = `${(Date.now() + spec.time.maxOffsetMs + 5_000) * 1000}.0`;
    const res = await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-region": "local-aws", "x-meridian-hlc": ahead },
      body: JSON.stringify({ user: "u2", qty: 1 }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "untrustworthy HLC timestamp" });
    const view = (await (await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws" } })).json()) as { reserved: number; sold: number };
    expect(view).toMatchObject({ reserved: 0, sold: 2 });
  });
});
