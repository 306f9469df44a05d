import { describe, expect, it } from "vitest";
import { NAMESPACES } from "../../model/estate.js";
import {
  GATEWAY_IDENTITY,
  SPIRE_SERVER_IDENTITY,
  RUNTIME_SERVICES,
  SERVICE_NAMES,
  SPIFFE_ID_TEMPLATE,
  allowedCallerIds,
  callerIdentity,
  istioPrincipal,
  runtimeService,
  serviceHost,
  spiffeId,
} from "../../model/services.js";
import { parseSpiffeId } from "../../runtime/identity/spiffe-id.js";

describe("runtime service catalogue", () => {
  it("lists escrow, ratelimit, prooflog, clock, quota, attest, map, allocator, monitor, witness and certchain in the runtime namespace, each with its own service account", () => {
    expect(RUNTIME_SERVICES.map((s) => s.name)).toEqual(["escrow", "ratelimit", "prooflog", "clock", "quota", "attest", "map", "allocator", "monitor", "witness", "certchain"]);
    expect(SERVICE_NAMES).toEqual(RUNTIME_SERVICES.map((s) => s.name));
    for (const s of RUNTIME_SERVICES) expect(s.namespace).toBe(NAMESPACES.runtime);
    expect(new Set(RUNTIME_SERVICES.map((s) => s.serviceAccount)).size).toBe(RUNTIME_SERVICES.length);
  });

  it("ports are unique per service and ratelimit serves Envoy RLS over gRPC", () => {
    for (const s of RUNTIME_SERVICES) {
      expect(new Set(s.ports.map((p) => p.port)).size).toBe(s.ports.length);
      expect(new Set(s.ports.map((p) => p.name)).size).toBe(s.ports.length);
    }
    expect(runtimeService("ratelimit").ports).toContainEqual({ name: "grpc-rls", port: 8081, appProtocol: "grpc" });
  });

  it("SPIFFE IDs follow spiffe://<td>/ns/<ns>/sa/<sa>, valid per the SPIFFE spec, and match SPIRE's template", () => {
    for (const s of RUNTIME_SERVICES) {
      const id = spiffeId("prod.meridian.internal", s);
      expect(id).toBe(`spiffe://prod.meridian.internal/ns/meridian/sa/${s.serviceAccount}`);
      expect(parseSpiffeId(id).uri).toBe(id);
    }
    expect(SPIFFE_ID_TEMPLATE).toBe("spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}");
  });

  it("callers resolve to catalogued services, the gateway or SPIRE's server; allow-lists are sorted and unique", () => {
    for (const s of RUNTIME_SERVICES) {
      for (const c of s.callers) {
        if ("spire" in c) expect(c.spire).toEqual(SPIRE_SERVER_IDENTITY);
        else expect([GATEWAY_IDENTITY, ...RUNTIME_SERVICES]).toContainEqual(expect.objectContaining(callerIdentity(c)));
      }
      const ids = allowedCallerIds("td", s.name, ["eu", "us"]);
      expect(ids).toEqual([...new Set(ids)].sort());
    }
    expect(allowedCallerIds("td", "prooflog")).toEqual([
      "spiffe://td/ns/meridian-gateway/sa/meridian-gateway",
      "spiffe://td/ns/meridian/sa/attest",
      "spiffe://td/ns/meridian/sa/certchain",
      "spiffe://td/ns/meridian/sa/escrow",
      "spiffe://td/ns/meridian/sa/map",
      "spiffe://td/ns/meridian/sa/prooflog-monitor",
      "spiffe://td/ns/meridian/sa/quota",
    ]);
    // Only the SPIRE server asks the attestation verifier: no gateway, no other service.
    expect(allowedCallerIds("td", "attest")).toEqual(["spiffe://td/spire/server"]);
    // The map: the quota service and escrow write it (each its own map), tenants read it through the gateway.
    expect(allowedCallerIds("td", "map")).toEqual(["spiffe://td/ns/meridian-gateway/sa/meridian-gateway", "spiffe://td/ns/meridian/sa/escrow", "spiffe://td/ns/meridian/sa/quota"]);
    // The global allocator: the rate limit services alone ask it for budget, each region's by its own identity.
    expect(allowedCallerIds("td", "allocator", ["eu", "us"])).toEqual(["spiffe://td/ns/meridian/sa/ratelimit-eu", "spiffe://td/ns/meridian/sa/ratelimit-us"]);
    expect(() => allowedCallerIds("td", "allocator")).toThrow(/ratelimit runs one identity per region: name the regions/);
    // The proof log monitor: the other regions' monitors, and outside monitors and auditors through the gateway.
    expect(allowedCallerIds("td", "monitor")).toEqual(["spiffe://td/ns/meridian-gateway/sa/meridian-gateway", "spiffe://td/ns/meridian/sa/prooflog-monitor"]);
    expect(allowedCallerIds("td", "clock", ["eu"])).not.toContain("spiffe://td/ns/meridian-gateway/sa/meridian-gateway");
  });

  it("spells Istio principals without the scheme and in-cluster hosts as <svc>.<ns>.svc.cluster.local", () => {
    expect(istioPrincipal("spiffe://td/ns/meridian/sa/escrow")).toBe("td/ns/meridian/sa/escrow");
    expect(serviceHost(runtimeService("clock"))).toBe("clock.meridian.svc.cluster.local");
    expect(() => runtimeService("nope" as never)).toThrow(/unknown runtime service nope; expected one of escrow, ratelimit, prooflog, clock/);
  });
});
