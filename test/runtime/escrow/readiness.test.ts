// Escrow on the service kit: /readyz is its stores answering (the kit's probe of PostgreSQL, here through a proxy
// the test can cut) and its clock being trustworthy (a frozen skew state closes commits, so the pod is not ready),
// /healthz its liveness, /metrics the RED series per escrow route.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { escrowServiceConfig } from "../../../model/escrow/config.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { ClockNode } from "../../../runtime/clock/index.js";
import { parseEscrowConfig, startEscrowServer, type EscrowServer } from "../../../runtime/escrow/index.js";
import { loadStack } from "../../../stacks/load.js";
import { TcpProxy } from "../tcp-proxy.js";
import { issuerKeys, testConfig } from "./fixture.js";
import { dropPgSchema, ensurePgDatabase, uniqueName } from "./servers.js";

const schema = uniqueName("h2_ready");
let proxy: TcpProxy;
let server: EscrowServer | undefined;

beforeAll(async () => {
  await ensurePgDatabase();
  proxy = await TcpProxy.listen(5432);
});
afterAll(async () => {
  await server?.close();
  await proxy?.close();
  await dropPgSchema(schema);
});

describe("escrow's readiness on the kit", () => {
  it("is ready while PostgreSQL answers and not once it stops answering; live throughout; RED metrics per route", async () => {
    const port = proxy.port;
    const rendered = escrowServiceConfig(buildEstateSpec("local", loadStack("local")), { regions: ["local-aws"] });
    const config = parseEscrowConfig({ ...rendered, identity: { ...rendered.identity, issuer: "https://id.test.example", jwks: { keys: [(await issuerKeys()).publicJwk] } } });
    server = await startEscrowServer({ config, port: 0, postgresUrl: `postgres://postgres@127.0.0.1:${port}/meridian_escrow_test`, schema });

    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, service: "escrow", checks: { "store:postgres": "ok", clock: "ok" } });

    expect((await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws" } })).status).toBe(200);
    expect((await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, { method: "POST", headers: { "x-region": "local-aws" } })).status).toBe(401);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/meridian_http_requests_total\{route="\/v1\/inventory\/:sku",method="GET",code="200",service="escrow"\} 1/);
    expect(metrics).toMatch(/meridian_http_requests_total\{route="\/v1\/inventory\/:sku\/reservations",method="POST",code="401",service="escrow"\} 1/);

    // PostgreSQL goes away (the proxy stops accepting and cuts every connection).
    await proxy.cut();
    const down = await fetch(`${server.url}/readyz`);
    expect(down.status).toBe(503);
    const body = (await down.json()) as { ready: boolean; checks: Record<string, string> };
    expect(body.ready).toBe(false);
    expect(body.checks["store:postgres"]).not.toBe("ok");
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("is not ready while its clock is untrustworthy (skew frozen), and ready again once it has recovered", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const node = new ClockNode({ clock, maxOffsetMs: 250, skew: { recoveryHoldMs: 30_000 } });
    const config = await testConfig(["eu"], { skus: [{ sku: "tix", total: 10, globalReserve: 0, allocation: { eu: 10 }, refill: { batchSize: 1, reorderPoints: { eu: 0 } } }] });
    const s = await startEscrowServer({ config, port: 0, clock, clockNode: node });
    try {
      const readyz = async () => {
        const r = await fetch(`${s.url}/readyz`);
        return { status: r.status, body: (await r.json()) as { ready: boolean; checks: Record<string, string> } };
      };
      expect(await readyz()).toEqual({ status: 200, body: { ready: true, service: "escrow", checks: { clock: "ok" } } });
      node.measure(-220, 1); // 220 ms off: beyond 80 % of the max offset, the strong path freezes
      const frozen = await readyz();
      expect(frozen.status).toBe(503);
      expect(frozen.body.ready).toBe(false);
      expect(frozen.body.checks["clock"]).toMatch(/skew state frozen/);
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      node.measure(0, 1); // good again: recovering, still not ready for the hold-down
      clock.advance(15_000);
      expect((await readyz()).status).toBe(503);
      clock.advance(16_000);
      node.measure(0, 1);
      expect(await readyz()).toEqual({ status: 200, body: { ready: true, service: "escrow", checks: { clock: "ok" } } });
    } finally {
      await s.close();
    }
  });
});
