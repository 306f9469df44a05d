import { describe, expect, it } from "vitest";
import { runCli } from "../cli.js";

describe("meridian drill: arguments are checked before an estate starts", () => {
  it("--region nope → exit 2 naming the stack's regions, no stack trace", () => {
    const r = runCli(["drill", "regional-outage", "--region", "nope"], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('meridian: --region: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure\n');
    expect(r.status).toBe(2);
  });
});

describe("meridian drill (against a real local estate)", () => {
  it("regional-outage: measured detection, failover and drain beside the runbook; escrow and the log hold", () => {
    const r = runCli(["drill", "regional-outage", "--json"], { timeoutMs: 120_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout) as {
      region: string;
      answerBefore: string[];
      answerAfter: string[];
      detectionMs: number;
      dnsFailoverMs: number;
      drainMs: number;
      runbook: { detectionSeconds: number; rtoSeconds: number; drainSeconds: number };
      checks: { name: string; ok: boolean; detail: string }[];
    };
    expect(m.region).toBe("local-aws");
    expect(m.answerBefore).toEqual(["127.0.1.1"]);
    expect(m.answerAfter).toEqual(["127.0.1.2"]);
    // Timings vary with load, so the test checks what was measured and compared, not how fast it was.
    expect(m.detectionMs).toBeGreaterThan(0);
    expect(m.drainMs).toBe(m.dnsFailoverMs + m.runbook.drainSeconds * 1000);
    expect(m.runbook).toMatchObject({ detectionSeconds: 5, drainSeconds: 5, rtoSeconds: 10 });
    const phases = (JSON.parse(r.stdout) as { phases: { phase: string; measuredMs: number; runbookMs: number; ok: boolean }[] }).phases;
    expect(phases.map((p) => p.phase)).toEqual(["detection (kill → unhealthy)", "DNS failover (kill → new answer)", "drain (failover + TTL)"]);
    for (const p of phases) expect(p.ok).toBe(p.measuredMs <= p.runbookMs);
    expect(m.checks.length).toBeGreaterThanOrEqual(2);
    for (const c of m.checks) expect(c, c.detail).toMatchObject({ ok: true });
  }, 150_000);

  it("regional-outage prints the measurement next to the runbook's numbers", () => {
    const r = runCli(["drill", "regional-outage"], { timeoutMs: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\| detection \(kill → unhealthy\) \| \d+\.\d\d s \| ≤ 5\.00 s \| (within|OVER) \|/);
    expect(r.stdout).toMatch(/\| drain \(failover \+ TTL\) \| \d+\.\d\d s \| ≤ 10\.00 s \| (within|OVER) \|/);
    expect(r.stdout).toMatch(/never oversold, no acknowledged sale lost \| ok/);
  }, 150_000);

  it("clock-skew: degrade → freeze → recover, the GSLB follows, and peers refuse the skewed HLC", () => {
    const r = runCli(["drill", "clock-skew", "--json"], { timeoutMs: 120_000 });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: { clockState: string; gslbHealth: string }[]; recoveryMs: number; thresholds: { recoveryHoldMs: number }; checks: { ok: boolean; detail: string }[] };
    const states = out.steps.map((s) => s.clockState);
    expect(states.slice(0, 3)).toEqual(["healthy", "degraded", "frozen"]);
    expect(states).toContain("recovering");
    expect(states.at(-1)).toBe("healthy");
    expect(out.steps.some((s) => s.clockState === "frozen" && s.gslbHealth === "degraded")).toBe(true);
    expect(out.steps.at(-1)!.gslbHealth).toBe("healthy");
    expect(out.recoveryMs).toBeGreaterThanOrEqual(out.thresholds.recoveryHoldMs);
    for (const c of out.checks) expect(c, c.detail).toMatchObject({ ok: true });
  }, 150_000);
});
