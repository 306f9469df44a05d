// With no tab open the dashboard keeps only its history (one sample a second): it reads the regions' counters and
// clocks and nothing else — not the estate-wide panels (proof log, escrow stock), not the regions' escrow state. A tab
// that opens gets the whole picture at once, then every push.
import { afterEach, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../../runtime/local/dashboard.js";
import type { LocalEstate } from "../../../runtime/local/estate.js";

/** What the dashboard reads of an estate, counting the reads. */
function fakeEstate() {
  const reads = { globals: 0, regionStates: [] as (readonly string[] | undefined)[] };
  let sales = 0;
  const estate = {
    spec: { stack: "local", dns: { host: "api", apex: "meridian.test" }, regions: [{ id: "r1", cloud: "aws" }] },
    dns: { port: 53 },
    answer: () => ({ region: "r1" }),
    regions: [{ id: "r1" }],
    healthStates: () => ({ r1: "healthy" }),
    regionStates: async (services?: readonly string[]) => {
      reads.regionStates.push(services);
      return { r1: { stats: { sales: (sales += 2) }, services: { clock: { offsetMs: 1, epsilonMs: 2 }, ...(services ? {} : { escrow: { inventory: {} } }) } } };
    },
    supervisor: { isRunning: () => true },
    prober: { failingSignals: () => [], sinceMs: () => 0, rttMs: () => 3 },
    proxies: new Map(),
    rateLimitShares: new Map(),
    answersDrawn: new Map(),
    chaos: { active: () => [] },
    queryLog: [],
    events: [],
    globals: { state: async () => (reads.globals++, { "proof log": { size: 7 } }) },
  };
  return { estate: estate as unknown as LocalEstate, reads };
}

let dashboard: Dashboard | undefined;
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the dashboard with no tab open", () => {
  it("samples its history from the regions' clocks and counters only; a tab opening gets the whole picture, then every push", async () => {
    const { estate, reads } = fakeEstate();
    dashboard = await startDashboard({ estate: () => estate, port: 0, pushIntervalMs: 20 });
    await sleep(200);
    expect(reads.globals).toBe(0);
    expect(reads.regionStates.length).toBeGreaterThan(3);
    expect(reads.regionStates.every((s) => s?.join() === "clock")).toBe(true);
    // One sample per read; a read still in flight when the history was served is not in it yet (a tick every 20 ms).
    const readsBefore = reads.regionStates.length;
    const history = (await (await fetch(`${dashboard.url}/api/history`)).json()) as { regions: { r1: { salesPerS: number | null; offsetMs: number | null } } }[];
    expect(history.length).toBeGreaterThanOrEqual(readsBefore - 1);
    expect(history.length).toBeLessThanOrEqual(reads.regionStates.length);
    expect(history.at(-1)!.regions.r1).toMatchObject({ offsetMs: 1, rttMs: 3, health: 2 });
    expect(history.at(-1)!.regions.r1.salesPerS).toBeGreaterThan(0);

    // A tab: its first push is the whole snapshot (the proof log's panel, the regions' escrow), without waiting for a tick.
    const ac = new AbortController();
    const res = await fetch(`${dashboard.url}/api/events`, { signal: ac.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const pushes: Record<string, unknown>[] = [];
    let buffered = "";
    while (pushes.filter((p) => "proof log" in p).length < 3) {
      const { value } = await reader.read();
      buffered += value ?? "";
      const parts = buffered.split("\n\n");
      buffered = parts.pop()!;
      for (const p of parts) pushes.push(JSON.parse(p.replace(/^data: /, "")) as Record<string, unknown>);
    }
    const full = pushes.find((p) => "proof log" in p) as { regions: { state: { services: object } }[]; sample: object };
    expect(full.regions[0]!.state.services).toHaveProperty("escrow");
    expect(full.sample).toHaveProperty("regions.r1");
    expect(reads.globals).toBeGreaterThanOrEqual(3);
    ac.abort();
  });
});
