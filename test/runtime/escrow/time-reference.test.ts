// Escrow's clock measured against a real reference (config `timeReference`; deployed pods name their node's time
// agent, which serves chrony's tracking — test/runtime/clock/agent.test.ts): with a grandmaster 400 ms away from this machine's clock and a
// max offset of 250 ms, the node's skew monitor freezes from real NTP measurements and a commit over HTTP
// answers 503, selling nothing. Without a reference (before this) the skew monitor measured nothing.
import { afterAll, describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { escrowRegionConfig } from "../../../model/workloads/escrow-region.js";
import { grandmasterService } from "../../../runtime/clock/index.js";
import { parseEscrowConfig, startEscrowServer, type EscrowServer } from "../../../runtime/escrow/index.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { loadStack } from "../../../stacks/load.js";
import { as, issuerKeys } from "./fixture.js";

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

describe("escrow's time reference", () => {
  it("every region's rendered escrow config names its node's time agent (chrony's tracking), with or without a grandmaster", () => {
    const spec = buildEstateSpec("prod", loadStack("prod"));
    for (const r of spec.regions) expect(parseEscrowConfig(escrowRegionConfig(spec, r.id)).timeReference?.agent).toEqual({ host: "time-agent.meridian-time.svc.cluster.local", port: 10125 });
    const noGm = { ...spec, time: { ...spec.time, grandmaster: { ...spec.time.grandmaster, enabled: false } } };
    expect(escrowRegionConfig(noGm, spec.regions[0]!.id).timeReference).toEqual({ agent: "time-agent.meridian-time.svc.cluster.local:10125" });
  });

  it("a grandmaster 400 ms off freezes the strong path from real NTP measurements: commits answer 503", async () => {
    const gm: RunningService = await startService(grandmasterService, { offsetMs: 400, ntp: { port: 0 }, server: { port: 0 } }, { processMetrics: false });
    closers.push(() => gm.close());
    const ntpPort = Number(new URL(gm.endpoints["ntp"]!).port);
    const spec = buildEstateSpec("local", loadStack("local"));
    const rendered = escrowRegionConfig(spec, "local-aws");
    const config = parseEscrowConfig({
      ...rendered,
      maxOffsetMs: 250,
      timeReference: { grandmaster: `127.0.0.1:${ntpPort}`, syncIntervalMs: 100 },
      identity: { ...rendered.identity, issuer: "https://id.test.example", jwks: { keys: [(await issuerKeys()).publicJwk] } },
    });
    const server: EscrowServer = await startEscrowServer({ config, port: 0 });
    closers.push(() => server.close());

    const headers = { ...(await as("u1", "local-aws")), "content-type": "application/json" };
    const res = await fetch(`${server.url}/v1/inventory/concert-2027/reservations`, { method: "POST", headers, body: JSON.stringify({ qty: 1 }) });
    expect(res.status).toBe(201);
    const { reservationId } = (await res.json()) as { reservationId: string };
    // The server measured the grandmaster once before it started serving: the first commit is already refused.
    const refused = await fetch(`${server.url}/v1/reservations/${reservationId}/commit`, { method: "POST", headers: await as("u1", "local-aws") });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/^commit refused: skew state frozen/);
    const view = (await (await fetch(`${server.url}/v1/inventory/concert-2027`, { headers: { "x-region": "local-aws" } })).json()) as { sold: number };
    expect(view.sold).toBe(0);
  }, 60_000);
});
