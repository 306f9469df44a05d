// `meridian ratelimit allocator` on the service kit: GetCapacity over NATS with /readyz following the NATS
// connection (here through a proxy the test can cut), and HTTP callers allowed by verified SPIFFE ID only.
import { connect } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startService } from "../../../../runtime/kit/index.js";
import { requestCapacity } from "../../../../runtime/ratelimit/global/nats.js";
import { allocatorService } from "../../../../runtime/ratelimit/global/server.js";
import { TcpProxy } from "../../tcp-proxy.js";

const resources = [{ id: "checkout", capacity: 200, lease_ms: 2000, refresh_ms: 100 }];
let proxy: TcpProxy;

beforeAll(async () => {
  proxy = await TcpProxy.listen(4222);
});
afterAll(() => proxy?.close());

describe("the allocator on the kit", () => {
  it("answers GetCapacity on NATS, refuses malformed NATS requests, and is not ready once NATS stops answering", async () => {
    const clock = new ManualClock(0);
    const subject = `meridian.test.allocator.${process.pid}`;
    const natsUrl = `nats://127.0.0.1:${proxy.port}`;
    const running = await startService(allocatorService, { resources, nats: natsUrl, subject, maxOffsetMs: 250, server: { port: 0 } }, { clock, processMetrics: false });
    const nc = await connect({ servers: "127.0.0.1:4222" });
    try {
      const ready = await fetch(`${running.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, service: "ratelimit-allocator", checks: { "store:nats": "ok", nats: "ok" } });
      expect(await requestCapacity(nc, subject, "checkout", "eu", 50)).toEqual({ resource: "checkout", has: 50, expiresAt: 2000, refreshMs: 100, safeCapacity: 0 });
      // One clock node for both faces: NATS replies and HTTP answers carry its HLC and epoch.
      const raw = await nc.request(`${subject}.getcapacity.eu`, new TextEncoder().encode('{"resource":"checkout","client":"eu","wants":50}'), { timeout: 1000 });
      expect(raw.headers?.get("Meridian-HLC-Epoch")).toBe("0");
      expect((await fetch(`${running.url}/healthz`)).headers.get("x-meridian-hlc-epoch")).toBe("0");
      // Hostile NATS requests: not JSON, extra keys, an unknown resource — each an {error}, no lease.
      for (const bad of ["{", '{"resource":"checkout","client":"x","wants":1,"admin":true}', '{"resource":"checkout","client":"x","wants":-1}', '{"resource":"nope","client":"x","wants":1}']) {
        const reply = JSON.parse(new TextDecoder().decode((await nc.request(`${subject}.getcapacity.eu`, new TextEncoder().encode(bad), { timeout: 1000 })).data)) as Record<string, unknown>;
        expect(reply, bad).toEqual({ error: expect.any(String) });
      }
      expect(await running.parts.store.snapshot("checkout", clock.now())).toEqual([{ client: "eu", wants: 50, has: 50, expiresAt: 2000 }]);

      // NATS goes away (the proxy stops accepting and cuts every connection).
      await proxy.cut();
      const down = await fetch(`${running.url}/readyz`);
      expect(down.status).toBe(503);
      const body = (await down.json()) as { ready: boolean; checks: Record<string, string> };
      expect(body.ready).toBe(false);
      expect(body.checks["store:nats"]).not.toBe("ok");
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    } finally {
      await nc.drain();
      await running.close();
    }
  });

  it("lets only the configured callers ask for capacity, by the SPIFFE ID its sidecar verified", async () => {
    const self = "spiffe://meridian.internal/ns/meridian/sa/allocator";
    const caller = "spiffe://meridian.internal/ns/meridian/sa/ratelimit";
    const clock = new ManualClock(0);
    const running = await startService(allocatorService, { resources, callers: [caller], server: { port: 0, identity: { xfcc: "istio-sidecar", spiffeId: self } } }, { clock, processMetrics: false });
    try {
      const ask = (headers: Record<string, string>) =>
        fetch(`${running.url}/v1/allocator/capacity`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ resource: "checkout", client: "eu", wants: 50 }),
        });
      const none = await ask({});
      expect(none.status).toBe(401);
      expect(await none.json()).toMatchObject({ error: "unauthenticated", detail: expect.stringContaining(caller) });
      const other = await ask({ "x-forwarded-client-cert": `By=${self};URI=spiffe://meridian.internal/ns/shop/sa/web` });
      expect(other.status).toBe(403);
      expect(await other.json()).toMatchObject({ error: "forbidden", detail: expect.stringContaining("spiffe://meridian.internal/ns/shop/sa/web is not allowed") });
      const foreignBy = await ask({ "x-forwarded-client-cert": `By=spiffe://meridian.internal/ns/meridian/sa/escrow;URI=${caller}` });
      expect(foreignBy.status).toBe(401);
      expect(await foreignBy.json()).toMatchObject({ detail: expect.stringMatching(/x-forwarded-client-cert refused: .*is not this pod's sidecar/) });
      expect(await running.parts.store.snapshot("checkout", clock.now())).toEqual([]);
      const ok = await ask({ "x-forwarded-client-cert": `By=${self};URI=${caller}` });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ resource: "checkout", has: 50 });
      expect((await fetch(`${running.url}/v1/allocator/resources/checkout`)).status).toBe(401);
    } finally {
      await running.close();
    }
  });
});
