import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register } from "../../cli/commands/drill.js";
import { buildEstateSpec } from "../../model/estate.js";
import { LocalEstate } from "../../runtime/local/estate.js";
import { loadStack } from "../../stacks/load.js";
import { UserError } from "../../cli/errors.js";
import { spawn } from "node:child_process";
import { MERIDIAN_BIN, REPO_ROOT, runCli, type CliResult } from "../cli.js";
import { outagePhases, renderFault, renderOutage } from "../../cli/render/drill.js";
import type { OutageMeasurement } from "../../runtime/local/drills/regional-outage.js";
import type { SkewDrillResult } from "../../runtime/local/drills/clock-skew.js";
import type { FaultDrillResult } from "../../runtime/local/drills/fault.js";

/**
 * `meridian drill …` in this process: the command's own parsing, checks, defaults, report and exit status, on
 * the given (shared) estate — or, without one, failing if it ever asks for an estate.
 */
async function drillIn(estate: LocalEstate | undefined, args: string[]): Promise<CliResult> {
  const out = { status: 0, stdout: "", stderr: "" };
  const program = new Command("meridian").exitOverride();
  register(program, {
    estate: (spec, _output, run) => {
      if (!estate) throw new Error(`an estate of stack ${spec.stack} was asked for`);
      if (spec.stack !== estate.spec.stack) throw new Error(`the shared estate runs stack ${estate.spec.stack}, not ${spec.stack}`);
      return run(estate);
    },
    output: { report: (text) => void (out.stdout += text), progress: (line) => void (out.stderr += `meridian drill: ${line}\n`), failed: () => void (out.status = 1) },
  });
  await program.parseAsync(["drill", ...args], { from: "user" });
  return out;
}

/** The real `meridian` CLI as a child process, without blocking this one (so other tests run while it does). */
function cliInBackground(args: string[], timeoutMs: number): Promise<CliResult> {
  const child = spawn(process.execPath, [MERIDIAN_BIN, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
  const out = { status: null as number | null, stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => void (out.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => void (out.stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => resolve({ ...out, status }));
  });
}

describe("meridian drill: arguments are checked before an estate starts", () => {
  it("--region nope → exit 2 naming the stack's regions, no stack trace", () => {
    const r = runCli(["drill", "regional-outage", "--region", "nope"], { timeoutMs: 30_000 });
    expect(r.stderr).toBe('meridian: --region: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure\n');
    expect(r.status).toBe(2);
  });

  it("partition/latency/loss/degrade/skew: region, duration and each fault value are checked first (exit 2, one line, nothing started)", async () => {
    const cases: [string[], string][] = [
      [["partition", "--region", "nope"], 'meridian: --region: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure\n'],
      [["partition", "--duration", "0"], 'meridian: --duration: expected seconds (0-600], got "0"\n'],
      [["latency", "--duration", "601"], 'meridian: --duration: expected seconds (0-600], got "601"\n'],
      [["latency", "--latency-ms", "-3"], 'meridian: --latency-ms: expected whole milliseconds 1-10000, got "-3"\n'],
      [["latency", "--jitter-ms", "lots"], 'meridian: --jitter-ms: expected whole milliseconds 0-10000, got "lots"\n'],
      [["loss", "--loss", "0"], 'meridian: --loss: expected a share of connections in (0, 1], got "0"\n'],
      [["loss", "--loss", "30%"], 'meridian: --loss: expected a share of connections in (0, 1], got "30%"\n'],
      [["loss", "--region", "nope"], 'meridian: --region: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure\n'],
      [["degrade", "--service", "dns"], 'meridian: --service: no service "dns" in stack local; expected one of clock, ratelimit, escrow\n'],
      [["degrade", "--duration", "-1"], 'meridian: --duration: expected seconds (0-600], got "-1"\n'],
      [["skew", "--skew-ms", "0"], 'meridian: --skew-ms: expected whole milliseconds, not 0, within ±3600000, got "0"\n'],
      [["skew", "--skew-ms", "1.5"], 'meridian: --skew-ms: expected whole milliseconds, not 0, within ±3600000, got "1.5"\n'],
    ];
    // In this process (a process per case costs seconds of start-up): the command's own parsing and checks,
    // with an estate that fails the case if it is ever asked for. A UserError is what the CLI prints as
    // `meridian: <message>` with exit 2 — end to end in the case above.
    for (const [args, stderr] of cases) {
      const err = await drillIn(undefined, args).then(
        (r) => r,
        (e: unknown) => e,
      );
      expect(err, args.join(" ")).toBeInstanceOf(UserError);
      expect(`meridian: ${(err as UserError).message}\n`, args.join(" ")).toBe(stderr);
    }
  });
});

/** What a drill that ran prints on stderr: its progress lines, nothing else (no stack trace, no region noise). */
const PROGRESS_ONLY = /^meridian drill: starting the estate's services[^\n]*\n(meridian drill: [^\n]*\n)*meridian drill: estate up; running the drill …\n$/;

/**
 * The local stack with a 3 s clock hold-down instead of its 10 s: the skew drills wait out the hold-down after
 * their revert and check the clock recovers no sooner — the same checks, 7 s sooner each. The estate hands the
 * spec's hold-down to its region processes (which otherwise read the stack file).
 */
const HOLD_MS = 3000;
function drillStack() {
  const config = loadStack("local");
  return buildEstateSpec("local", { ...config, time: { ...config.time, skew: { ...config.time.skew, recoveryHoldSeconds: HOLD_MS / 1000 } } });
}

// Starting an estate takes longer than most drills: these share one, in the order that keeps them apart —
// the self-reverting faults first (each waits for its region to be healthy again before it ends, each
// starts by waiting for it to be healthy), the regional outage (which kills a region for good) last.
// The self-reverting drills on one region run one after another; local-gcp's beside local-azure's (a drill
// watches and reverts its own region only; the answered region, local-aws, is never faulted by them).
// A real `meridian drill` process starts its own estate (of the local stack as it is) beside the regional outage,
// the last drill: the self-reverting drills before it measure probe timeouts and clock certainty, and run with
// no other estate starting on the machine (started beside this estate instead, it held up every drill behind both
// starts: the drills had to wait for the other estate to stop).
describe("meridian drill (sharing one real local estate; a real process starting its own beside it)", () => {
  let estate: LocalEstate;
  const drill = (args: string[]) => drillIn(estate, args);
  const queues = new Map<string, Promise<unknown>>();
  /** Run `args` once the drills queued before it on `region` have ended (passed or not). */
  const drillOn = (region: string, args: string[]) => {
    const run = (queues.get(region) ?? Promise.resolve()).catch(() => undefined).then(() => drill(args));
    queues.set(region, run);
    return run;
  };
  /** The real process's drill: started by the regional-outage test, to run beside it (or by its own test, if alone). */
  let realProcess: Promise<CliResult> | undefined;
  const startRealProcess = () => (realProcess ??= cliInBackground(["drill", "regional-outage", "--timeout", "0.001"], 120_000));
  beforeAll(async () => {
    estate = await LocalEstate.start({ spec: drillStack(), dnsPort: 0, basePort: 0 });
  });
  afterAll(async () => {
    await realProcess; // its child exits by itself (or is killed at its timeout)
    await estate?.stop();
  });

  it.concurrent(
    "latency past the probe timeout: the standby region turns unhealthy, no probe beats the added delay, and it is served again after the automatic revert",
    async () => {
      const r = await drillOn("local-gcp", ["latency", "--region", "local-gcp", "--latency-ms", "600", "--duration", "8", "--json"]);
      expect(r.stderr).toBe(""); // the report alone: no stack trace, no region noise
      const out = JSON.parse(r.stdout) as { region: string; answeredBefore: boolean; healthDuring: string[]; rttMs: { duringMin: number | null }; checks: { name: string; ok: boolean }[] };
      expect(out.region).toBe("local-gcp");
      expect(out.answeredBefore).toBe(false); // a failover standby: it never was in the answer
      expect(out.checks.filter((c) => !c.ok)).toEqual([]);
      expect(out.healthDuring).toContain("unhealthy");
      if (out.rttMs.duringMin !== null) expect(out.rttMs.duringMin).toBeGreaterThanOrEqual(1200);
      expect(r.status).toBe(0);
    },
    180_000,
  );

  it.concurrent(
    "degrade: a client of the region sees the service failing throughout, the GSLB degrades the region, both see it recover after the automatic revert",
    async () => {
      const r = await drillOn("local-gcp", ["degrade", "--region", "local-gcp", "--service", "ratelimit", "--json"]);
      expect(r.stderr).toBe(""); // the report alone: no stack trace, no region noise
      const out = JSON.parse(r.stdout) as FaultDrillResult & { phases: { phase: string }[] };
      expect(out.fault).toEqual({ kind: "degrade", region: "local-gcp", service: "ratelimit" });
      expect(out.clientPath).toBe("/healthz/ratelimit");
      expect(out.client.during.requests).toBeGreaterThan(0);
      expect(out.client.during.ok).toBe(0);
      expect(out.client.after.ok).toBe(out.client.after.requests);
      expect(out.healthDuring).toContain("degraded");
      expect(out.phases.map((p) => p.phase)).toEqual(["detection (fault → degraded)", "fault reverted on time (applied → reverted)", "recovery (reverted → healthy and answered)"]);
      expect(out.checks.filter((c) => !c.ok)).toEqual([]);
      expect(renderFault(out)).toMatch(/^# Drill: ratelimit forced failing on local-gcp for 8\.00 s \(reverts by itself\)\n\n\*\*Verdict: passed\.\*\*/);
      expect(r.status).toBe(0);
    },
    180_000,
  );

  it.concurrent(
    "clock-skew --strict: degrade → freeze → recover, the GSLB follows, peers refuse the skewed HLC; exit status follows the bounds",
    async () => {
      // Its default region, the last: local-azure, first in its queue (it starts by waiting for every region healthy).
      const r = await drillOn("local-azure", ["clock-skew", "--json", "--strict"]);
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
    },
    180_000,
  );

  it.concurrent(
    "skew past the max offset through the chaos toolkit: the clock freezes, the GSLB degrades the region, and after the timed revert the clock recovers no sooner than its hold-down",
    async () => {
      const r = await drillOn("local-azure", ["skew", "--region", "local-azure", "--json"]);
      expect(r.stderr).toBe(""); // the report alone: no stack trace, no region noise
      const out = JSON.parse(r.stdout) as FaultDrillResult;
      expect(out.fault).toEqual({ kind: "skew", region: "local-azure", skewMs: 600 });
      expect(out.clock).toMatchObject({ expected: "frozen", recoveryHoldMs: HOLD_MS });
      // The region's clock itself holds down for the spec's time, not the stack file's.
      const skewState = (await (await fetch(`${estate.region("local-azure").url}/clock/v1/time/skew`)).json()) as { thresholds: { recoveryHoldMs: number } };
      expect(skewState.thresholds.recoveryHoldMs).toBe(HOLD_MS);
      const states = out.clockStates!;
      expect(states[0]).toBe("healthy");
      expect(states.indexOf("recovering")).toBeGreaterThan(states.indexOf("frozen"));
      expect(states.at(-1)).toBe("healthy");
      expect(out.clock!.recoveredAfterMs).toBeGreaterThanOrEqual(HOLD_MS - 100);
      expect(out.revertedAfterMs).toBeGreaterThanOrEqual(8000);
      expect(out.checks.filter((c) => !c.ok)).toEqual([]);
      expect(r.status).toBe(0);
    },
    180_000,
  );

  it("regional-outage kills the region whose own escrow was selling; measured phases beside the runbook; invariants against what buyers were told", async () => {
    startRealProcess(); // beside this drill: asserted by the next test
    const r = await drill(["regional-outage", "--json"]);
    expect(r.stderr).toBe(""); // the report alone: no stack trace, no region noise
    // A failed invariant (exit 1) is named by its check in the report.
    expect(r.status, r.status === 0 ? "" : JSON.stringify((JSON.parse(r.stdout) as { checks?: unknown[] }).checks?.filter((c) => !(c as { ok: boolean }).ok))).toBe(0);
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

  it("a real process: a drill that cannot finish says what it waited for and fails", async () => {
    const r = await startRealProcess();
    expect(r.status).toBe(1);
    // While the estate starts (seconds per region), the drill says what it is doing.
    expect(r.stderr).toMatch(PROGRESS_ONLY);
    for (const region of ["local-aws", "local-gcp", "local-azure"])
      expect(r.stderr).toMatch(new RegExp(`^meridian drill: region ${region} ready at http://127\\.0\\.1\\.\\d:\\d+ \\(\\d+\\.\\d s\\)$`, "m"));
    expect(r.stdout).toMatch(/\*\*Verdict: FAILED — timed out after 0 s waiting for .+\.\*\*/);
    expect(r.stdout).toMatch(/\| the drill completed \| FAILED \|/);
  }, 130_000);
});
