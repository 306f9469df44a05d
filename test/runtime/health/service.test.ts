import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startService } from "../../../runtime/kit/index.js";
import { healthService, signalPath, verdict } from "../../../runtime/health/index.js";

/** Upstreams standing in for services' /readyz: ready, not ready, and hung. */
function upstream(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz` })));
}

describe("health aggregator", () => {
  const servers: Server[] = [];
  let svc: Awaited<ReturnType<typeof startService>>;
  beforeAll(async () => {
    const ready = await upstream((_q, r) => r.end("ok"));
    const failing = await upstream((_q, r) => {
      r.statusCode = 503;
      r.end('{"error":"not ready","detail":"store redis unreachable"}');
    });
    const hung = await upstream(() => undefined);
    servers.push(ready.server, failing.server, hung.server);
    svc = await startService(
      healthService,
      {
        region: "aws-use1",
        probeTimeoutMs: 300,
        signals: [
          { name: "gateway", path: "/healthz/gateway", probes: [] },
          { name: "escrow", path: "/healthz/escrow", probes: [{ name: "escrow", url: ready.url }] },
          {
            name: "serving",
            path: "/healthz",
            probes: [
              { name: "escrow", url: ready.url },
              { name: "ratelimit", url: failing.url },
            ],
          },
          { name: "slow", path: "/healthz/slow", probes: [{ name: "clock", url: hung.url }] },
        ],
        server: { port: 0 },
      },
      { processMetrics: false },
    );
  });
  afterAll(async () => {
    await svc?.close();
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  const get = async (name: string) => {
    const r = await fetch(`${svc.url}${signalPath(name)}`);
    return { status: r.status, body: (await r.json()) as { healthy: boolean; checks: Record<string, string> } };
  };

  it("a signal passes when every probe answers 2xx; with no probes the gateway answering is the signal", async () => {
    expect(await get("escrow")).toMatchObject({ status: 200, body: { healthy: true, checks: { escrow: "pass" } } });
    expect(await get("gateway")).toMatchObject({ status: 200, body: { healthy: true, checks: {} } });
  });

  it("one failing service fails a composite signal, naming it and its own reason", async () => {
    const r = await get("serving");
    expect(r.status).toBe(503);
    expect(r.body.checks).toEqual({ escrow: "pass", ratelimit: 'HTTP 503: {"error":"not ready","detail":"store redis unreachable"}' });
  });

  it("a hung service fails within the probe timeout instead of hanging the check", async () => {
    const r = await get("slow");
    expect(r.status).toBe(503);
    expect(r.body.checks["clock"]).toMatch(/^no answer/);
  });

  it("the verdict core: no answer and non-2xx are failures", () => {
    expect(
      verdict("s", [
        { name: "a", status: 204 },
        { name: "b", status: 302 },
      ]).healthy,
    ).toBe(false);
    expect(verdict("s", [{ name: "a", status: null, detail: "timeout" }]).checks).toEqual({ a: "no answer: timeout" });
    expect(verdict("s", []).healthy).toBe(true);
  });
});
