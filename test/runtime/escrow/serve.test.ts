import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { escrowServiceConfig } from "../../../model/escrow/config.js";
import { ClockNode, compare, parse } from "../../../runtime/clock/index.js";
import { openEscrowStore, parseEscrowConfig, startEscrowServer, type EscrowServer } from "../../../runtime/escrow/index.js";
import { loadStack } from "../../../stacks/load.js";
import { as, issuerKeys } from "./fixture.js";

describe("startEscrowServer (what `meridian escrow serve` and `meridian local` run)", () => {
  const spec = buildEstateSpec("local", loadStack("local"));
  let server: EscrowServer;
  const node = new ClockNode({ clock: { now: () => Date.now() }, maxOffsetMs: spec.time.maxOffsetMs });
  beforeAll(async () => {
    // The stack's rendered config, trusting the test issuer instead of the stack's dev key.
    const rendered = escrowServiceConfig(spec, { regions: ["local-aws", "local-gcp"] });
    const config = parseEscrowConfig({ ...rendered, identity: { ...rendered.identity, issuer: "https://id.test.example", jwks: { keys: [(await issuerKeys()).publicJwk] } } });
    server = await startEscrowServer({ config, port: 0, clockNode: node });
  });
  afterAll(() => server?.close());

  it("creates the configured inventory and sells through the HTTP API to a verified buyer", async () => {
    const headers = { ...(await as("u1", "local-aws")), "content-type": "application/json" };
    const res = await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, { method: "POST", headers, body: JSON.stringify({ qty: 2 }) });
    expect(res.status).toBe(201);
    const { reservationId } = (await res.json()) as { reservationId: string };
    expect((await fetch(`${server.url}/v1/reservations/${reservationId}/commit`, { method: "POST", headers: await as("u1", "local-gcp") })).status).toBe(200);
    const view = (await (await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-gcp" } })).json()) as { total: number; sold: number };
    expect(view).toMatchObject({ total: 1000, sold: 2 });
  });

  it("propagates the HLC: answers carry it, a timestamp beyond max offset is refused and changes nothing", async () => {
    const ok = await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws" } });
    expect(ok.headers.get("x-meridian-hlc")).toMatch(/^\d+\.\d+$/);
    const ahead = `${(Date.now() + spec.time.maxOffsetMs + 5_000) * 1000}.0`;
    const res = await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, {
      method: "POST",
      headers: { ...(await as("u2", "local-aws")), "content-type": "application/json", "x-meridian-hlc": ahead },
      body: JSON.stringify({ qty: 1 }),
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "untrustworthy HLC timestamp" });
    const view = (await (await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws" } })).json()) as { reserved: number; sold: number };
    expect(view).toMatchObject({ reserved: 0, sold: 2 });
  });

  it("returns a consistency token on writes (the HLC after it) and refuses one from another HLC epoch, changing nothing", async () => {
    const headers = { ...(await as("u4", "local-aws")), "content-type": "application/json" };
    const before = node.hlc.peek();
    const res = await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, { method: "POST", headers, body: JSON.stringify({ qty: 1 }) });
    expect(res.status).toBe(201);
    const token = res.headers.get("x-meridian-consistency")!;
    expect(compare(parse(token), before)).toBeGreaterThan(0);
    expect(res.headers.get("x-meridian-hlc-epoch")).toBe("0");
    // Reads carry no token of their own; a token from an epoch this clock never had is refused, not compared.
    expect((await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws", "x-meridian-consistency": token } })).status).toBe(200);
    const foreign = await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, {
      method: "POST",
      headers: { ...headers, "x-meridian-consistency": `${token}@4` },
      body: JSON.stringify({ qty: 1 }),
    });
    expect(foreign.status).toBe(409);
    expect(((await foreign.json()) as { error: string }).error).toBe("unknown hlc epoch");
    const view = (await (await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws" } })).json()) as { reserved: number };
    expect(view.reserved).toBe(1);
  });

  it("refuses a commit with 503 while the node's clock is frozen, selling nothing", async () => {
    const headers = { ...(await as("u3", "local-aws")), "content-type": "application/json" };
    const res = await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, { method: "POST", headers, body: JSON.stringify({ qty: 1 }) });
    const { reservationId } = (await res.json()) as { reservationId: string };
    node.measure(-spec.time.maxOffsetMs, 1);
    const refused = await fetch(`${server.url}/v1/reservations/${reservationId}/commit`, { method: "POST", headers: await as("u3", "local-aws") });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/^commit refused: skew state frozen/);
    const view = (await (await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws" } })).json()) as { sold: number };
    expect(view.sold).toBe(2);
  });

  it("refuses Redis without PostgreSQL behind it, naming why", async () => {
    await expect(openEscrowStore({ redisUrl: "redis://127.0.0.1:6379/3" })).rejects.toThrow(/needs PostgreSQL behind it/);
  });
});
