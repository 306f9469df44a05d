import { describe, expect, it } from "vitest";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { escrowAllocations } from "../../../model/escrow/estate.js";
import { escrowServiceConfig, regionEscrowConfig } from "../../../model/escrow/config.js";
import { skuPlans } from "../../../model/escrow/plan.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { parseEscrowConfig } from "../../../runtime/escrow/config.js";

const spec = (name: string) => buildEstateSpec(name, parseEstateConfig(readStackConfigMap(name), name));

describe("meridian:runtime.escrow config", () => {
  it("prod's escrow block parses and allocates its inventory over all six regions", () => {
    const s = spec("prod");
    expect(s.runtime.escrow.waitingRoom.policy).toBe("weighted");
    const [a] = escrowAllocations(s);
    expect(Object.keys(a!.regions)).toHaveLength(6);
    expect(Object.values(a!.regions).reduce((x, u) => x + u, 0) + a!.globalReserve).toBe(50_000);
  });

  it("one region's config narrowed from the estate's equals the model's own render for that region; an unknown region is refused", () => {
    const s = spec("prod");
    const all = escrowServiceConfig(s);
    const [first, second] = s.regions.map((r) => r.id);
    const peers = { [second!]: "http://127.0.0.1:1/escrow" };
    expect(regionEscrowConfig(all, first!, peers)).toEqual(escrowServiceConfig(s, { regions: [first!], peers }));
    expect(() => regionEscrowConfig(all, "mars-1", {})).toThrow(/unknown region mars-1/);
  });

  it("names every bad escrow value at once", () => {
    const map = readStackConfigMap("local");
    const runtime = map["meridian:runtime"] as Record<string, unknown>;
    map["meridian:runtime"] = {
      ...runtime,
      escrow: { inventory: { "concert-2027": 10.5 }, waitingRoom: { policy: "random" }, allocation: { globalReserveFraction: 1 }, identity: { jwks: [{ kty: "EC", d: "secret" }] } },
    };
    let message = "";
    try {
      parseEstateConfig(map, "local");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/meridian:runtime\.escrow\.inventory\.concert-2027/);
    expect(message).toMatch(/meridian:runtime\.escrow\.waitingRoom\.policy/);
    expect(message).toMatch(/meridian:runtime\.escrow\.allocation\.globalReserveFraction/);
    expect(message).toMatch(/must never hold the private part/);
  });

  it("every stack's rendered service config is accepted by the service's own schema, and carries the model's numbers", () => {
    for (const name of ["local", "dev", "staging", "prod"]) {
      const s = spec(name);
      const rendered = escrowServiceConfig(s, { regions: [s.regions[0]!.id] });
      const config = parseEscrowConfig(JSON.parse(JSON.stringify(rendered)), name);
      expect(config.regions).toEqual([s.regions[0]!.id]);
      const plans = skuPlans(s);
      expect(config.skus.map((k) => k.sku)).toEqual(plans.map((p) => p.sku));
      for (const [i, p] of plans.entries()) {
        expect(config.skus[i]).toMatchObject({
          total: p.total,
          globalReserve: p.globalReserve,
          allocation: p.allocation,
          debtCeiling: p.debt.ceiling,
          refill: { batchSize: p.refill.batchSize, reorderPoints: p.reorderPoints },
        });
      }
      expect(config.maxOffsetMs).toBe(s.time.maxOffsetMs);
    }
  });

  it("identity: inline keys from the stack, or the issuer's well-known JWKS", () => {
    expect(escrowServiceConfig(spec("local")).identity.jwks?.keys[0]).toMatchObject({ kid: "local-dev-1", kty: "EC" });
    expect(escrowServiceConfig(spec("prod")).identity).toMatchObject({ jwksUri: "https://id.meridian.example.com/.well-known/jwks.json" });
    expect(escrowServiceConfig(spec("dev")).identity.jwksUri).toMatch(/\/\.well-known\/jwks\.json$/);
    expect(() => escrowServiceConfig(spec("prod"), { regions: ["nowhere"] })).toThrow(/unknown region nowhere/);
  });
});
