import { describe, expect, it } from "vitest";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { escrowAllocations } from "../../../model/escrow/estate.js";
import { buildEstateSpec } from "../../../model/estate.js";

describe("meridian:runtime.escrow config", () => {
  it("prod's escrow block parses and allocates its inventory over all six regions", () => {
    const spec = buildEstateSpec("prod", parseEstateConfig(readStackConfigMap("prod"), "prod"));
    expect(spec.runtime.escrow.admission.queuePolicy).toBe("weighted");
    const [a] = escrowAllocations(spec);
    expect(Object.keys(a!.regions)).toHaveLength(6);
    expect(Object.values(a!.regions).reduce((s, u) => s + u, 0) + a!.globalReserve).toBe(50_000);
  });

  it("names every bad escrow value at once", () => {
    const map = readStackConfigMap("local");
    const runtime = map["meridian:runtime"] as Record<string, unknown>;
    map["meridian:runtime"] = { ...runtime, escrow: { inventory: { "concert-2027": 10.5 }, admission: { queuePolicy: "random" }, allocation: { globalReserveFraction: 1 } } };
    let message = "";
    try {
      parseEstateConfig(map, "local");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/meridian:runtime\.escrow\.inventory\.concert-2027/);
    expect(message).toMatch(/meridian:runtime\.escrow\.admission\.queuePolicy/);
    expect(message).toMatch(/meridian:runtime\.escrow\.allocation\.globalReserveFraction/);
  });
});
