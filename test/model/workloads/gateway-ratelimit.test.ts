// The gateway's rate-limit EnvoyFilter, judged by what consumes it: Envoy's own API protos accept every patch
// value (proto3 JSON, as istiod parses it), every patched route exists in the gateway's VirtualService under
// that name and the health-signal routes carry no limit, the RLS cluster is the ratelimit Service's gRPC port,
// and the descriptor its action sends is limited by the region's rendered rules, run by the real rate limit
// service: requestsPerSecond pass, the next one is OVER_LIMIT.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { virtualService } from "../../../components/workloads/gateway-manifests.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { rateLimitRegionConfig } from "../../../model/workloads/ratelimit-shares.js";
import { gatewayRateLimitFilter, RATELIMIT_ACTIONS } from "../../../model/workloads/gateway-ratelimit.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { startService } from "../../../runtime/kit/index.js";
import { ratelimitService } from "../../../runtime/ratelimit/service/service.js";
import { loadStack } from "../../../stacks/load.js";
import { checkEnvoyJson } from "../../envoy-proto.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const region = spec.regions[0]!.id;
const filter = gatewayRateLimitFilter(spec, {});
const PROTOS = ["envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto", "envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto"];

describe("the gateway's rate-limit EnvoyFilter", () => {
  it("is accepted by Envoy's own protos, patch by patch", () => {
    const [insert, ...routes] = filter.spec.configPatches;
    expect(insert!.applyTo).toBe("HTTP_FILTER");
    checkEnvoyJson(PROTOS, "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter", insert!.patch.value);
    // MERGE fragments: the route istiod built carries the match and action they merge into.
    for (const r of routes) checkEnvoyJson(PROTOS, "envoy.config.route.v3.Route", r.patch.value, { partial: true });
    // The checker can fail: a Duration Envoy would refuse, a field the filter does not have.
    const bad = JSON.parse(JSON.stringify(insert!.patch.value).replace('"0.05s"', '"50ms"'));
    expect(() => checkEnvoyJson(PROTOS, "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter", bad)).toThrow(/Duration/);
    expect(() => checkEnvoyJson(PROTOS, "envoy.config.route.v3.Route", { route: { rate_limit: [] } }, { partial: true })).toThrow(/no field rate_limit/);
    // And by Envoy's validation rules: an RLS domain must not be empty, a descriptor needs an action.
    const typed = (insert!.patch.value as { typed_config: Record<string, unknown> }).typed_config;
    expect(() => checkEnvoyJson(PROTOS, "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter", { ...insert!.patch.value, typed_config: { ...typed, domain: "" } })).toThrow(
      /min_len 1/,
    );
    expect(() => checkEnvoyJson(PROTOS, "envoy.config.route.v3.Route", { route: { rate_limits: [{ actions: [] }] } }, { partial: true })).toThrow(/at least 1/);
  });

  it("limits every public API route of the VirtualService by name, never a health signal, and calls the ratelimit Service's gRPC port", () => {
    const http = (virtualService(spec, region).spec as { http: { name: string; route?: unknown }[] }).http;
    const limited = filter.spec.configPatches
      .filter((p) => p.applyTo === "HTTP_ROUTE")
      .map((p) => (p.match as { routeConfiguration: { vhost: { route: { name: string } } } }).routeConfiguration.vhost.route.name);
    const names = new Set(http.map((r) => r.name));
    expect(limited.filter((n) => !names.has(n))).toEqual([]);
    expect(limited.some((n) => n.startsWith("signal-"))).toBe(false);
    expect(http.filter((r) => r.route && !r.name.startsWith("signal-") && !limited.includes(r.name))).toEqual([]);
    expect(JSON.stringify(filter)).toContain('"cluster_name":"outbound|8081||ratelimit.meridian.svc.cluster.local"');
  });

  it("sends the descriptor the region's rules limit: requestsPerSecond pass, the next is OVER_LIMIT", async () => {
    const cfg = rateLimitRegionConfig(spec, region);
    const dir = mkdtempSync(join(tmpdir(), "gw-rls-"));
    writeFileSync(join(dir, "config.yaml"), cfg.yaml);
    const running = await startService(
      ratelimitService,
      { rules: dir, watch: false, grpc: { host: "127.0.0.1", port: 0 }, server: { port: 0 } },
      { clock: new ManualClock(Date.parse("2026-12-03T00:00:00Z")), processMetrics: false },
    );
    try {
      // Envoy's generic_key action: entry (descriptor_key, descriptor_value).
      const entries = RATELIMIT_ACTIONS(cfg.domain).map(({ actions: [a] }) => ({ key: a!.generic_key.descriptor_key, value: a!.generic_key.descriptor_value }));
      const ask = async (hits: number) =>
        (
          (await (
            await fetch(`${running.url}/v1/ratelimit`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ domain: cfg.domain, descriptors: [{ entries, hits_addend: hits }] }),
            })
          ).json()) as { overall_code: string }
        ).overall_code;
      expect(await ask(cfg.requestsPerSecond)).toBe("OK");
      expect(await ask(1)).toBe("OVER_LIMIT");
    } finally {
      await running.close();
    }
  });
});
