import { describe, expect, it } from "vitest";
import { runCli } from "../cli.js";
import { outagePhases, renderOutage } from "../../cli/render/drill.js";
import type { OutageMeasurement } from "../../runtime/local/drills/regional-outage.js";
import type { SkewDrillResult } from "../../runtime/local/drills/clock-skew.js";

describe("meridian drill: arguments are checked before an estate starts", () => {
  it("--region nope → exit 2 naming the stack's regions, no stack trace", () => {
    const r = runCli(["drill", "regional-outage", "--region", "nope"], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('meridian: --region: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure\n');
    expect(r.status).toBe(2);
  });

  it("partition/latency: region, duration and latency are checked first (exit 2, one line, nothing started)", () => {
    const cases: [string[], string][] = [
      [["drill", "partition", "--region", "nope"], 'meridian: --region: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure\n'],
      [["drill", "partition", "--duration", "0"], 'meridian: --duration: expected seconds (0-600], got "0"\n'],
      [["drill", "latency", "--duration", "601"], 'meridian: --duration: expected seconds (0-600], got "601"\n'],
      [["drill", "latency", "--latency-ms", "-3"], 'meridian: --latency-ms: expected whole milliseconds 1-10000, got "-3"\n'],
      [["drill", "latency", "--jitter-ms", "lots"], 'meridian: --jitter-ms: expected whole milliseconds 0-10000, got "lots"\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = runCli(args, { timeoutMs: 30_000 });
      expect(r.stderr, args.join(" ")).toBe(stderr);
      expect(r.status).toBe(2);
    }
  });
});

describe("meridian drill (against a real local estate)", () => {
  it("regional-outage kills the region whose own escrow was selling; measured phases beside the runbook; invariants against what buyers were told", () => {
    const r = runCli(["drill", "regional-outage", "--json"], { timeoutMs: 170_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout) as OutageMeasurement & { phases: ReturnType<typeof outagePhases> };
    expect(m.region).toBe("local-aws");
    expect(m.answerBefore).toEqual(["127.0.1.1"]);
    expect(m.answerAfter).toEqual(["127.0.1.2"]);
    expect(m.timedOut).toBeUndefined();
    // The killed region had sold through its own escrow; clients kept hitting its address until their
    // cached answer expired, and that observed traffic is the drain (not failover + TTL by arithmetic).
    expect(m.salesBeforeKill["local-aws"]).toBeGreaterThanOrEqual(5);
    expect(m.requestsAfterKill).toBeGreaterThan(0);
    expect(m.drainMs).toBeGreaterThan(0);
    expect(m.runbook).toMatchObject({ detectionSeconds: 5, drainSeconds: 5, rtoSeconds: 10 });
    expect(m.phases.map((p) => p.phase)).toEqual(["detection (kill → unhealthy)", "DNS failover (kill → new answer)", "drain (kill → last request to it)"]);
    for (const p of m.phases) expect(p.ok).toBe(p.measuredMs !== null && p.measuredMs <= p.runbookMs);
    const names = m.checks.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "local-aws's own escrow was selling when it was killed",
        "escrow concert-2027: never oversold, units conserved",
        "escrow concert-2027: no acknowledged sale lost",
        "local-aws's unconfirmed units returned to the pool after its lease expired",
        "proof log consistent across the fault",
        "every acknowledged audit entry is in the log",
      ]),
    );
    for (const c of m.checks) expect(c, c.detail).toMatchObject({ ok: true });
    // The same measurement as the Markdown report.
    const text = renderOutage(m);
    expect(text).toMatch(/\| detection \(kill → unhealthy\) \| \d+\.\d\d s \| ≤ 5\.00 s \| (within|OVER) \|/);
    expect(text).toMatch(/\| drain \(kill → last request to it\) \| \d+\.\d\d s \| ≤ 10\.00 s \| (within|OVER) \|/);
    expect(text).toMatch(/no acknowledged sale lost \| ok/);
  }, 180_000);

  it("latency past the probe timeout: the standby region turns unhealthy, no probe beats the added delay, and it is served again after the automatic revert", () => {
    const r = runCli(["drill", "latency", "--region", "local-gcp", "--latency-ms", "600", "--duration", "8", "--json"], { timeoutMs: 170_000 });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { region: string; answeredBefore: boolean; healthDuring: string[]; rttMs: { duringMin: number | null }; checks: { name: string; ok: boolean }[] };
    expect(out.region).toBe("local-gcp");
    expect(out.answeredBefore).toBe(false); // a failover standby: it never was in the answer
    expect(out.checks.filter((c) => !c.ok)).toEqual([]);
    expect(out.healthDuring).toContain("unhealthy");
    if (out.rttMs.duringMin !== null) expect(out.rttMs.duringMin).toBeGreaterThanOrEqual(1200);
    expect(r.status).toBe(0);
  }, 180_000);

  it("a drill that cannot finish says what it waited for and fails", () => {
    const r = runCli(["drill", "regional-outage", "--timeout", "0.001"], { timeoutMs: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\*\*Verdict: FAILED — timed out after 0 s waiting for .+\.\*\*/);
    expect(r.stdout).toMatch(/\| the drill completed \| FAILED \|/);
  }, 130_000);

  it("clock-skew --strict: degrade → freeze → recover, the GSLB follows, peers refuse the skewed HLC; exit status follows the bounds", () => {
    const r = runCli(["drill", "clock-skew", "--json", "--strict"], { timeoutMs: 170_000 });
    const out = JSON.parse(r.stdout) as SkewDrillResult & { phases: { ok: boolean }[] };
    const states = out.steps.map((s) => s.clockState);
    expect(states.slice(0, 3)).toEqual(["healthy", "degraded", "frozen"]);
    expect(states).toContain("recovering");
    expect(states.at(-1)).toBe("healthy");
    expect(out.steps.some((s) => s.clockState === "frozen" && s.gslbHealth === "degraded")).toBe(true);
    expect(out.steps.at(-1)!.gslbHealth).toBe("healthy");
    expect(out.recoveryMs).toBeGreaterThanOrEqual(out.thresholds.recoveryHoldMs);
    for (const c of out.checks) expect(c, c.detail).toMatchObject({ ok: true });
    expect(out.phases).toHaveLength(3);
    // --strict: exit 1 exactly when a measured time missed its bound (machine load decides which).
    expect(r.status).toBe(out.phases.every((p) => p.ok) ? 0 : 1);
  }, 180_000);
});
