/**
 * `meridian drill regional-outage|clock-skew|partition|latency|loss|degrade|skew`: bring up the local estate on ephemeral ports, inject the
 * fault, and print what was measured next to the runbook's numbers. Exits 1 when an invariant fails;
 * with --strict also when a measurement misses the runbook's bound (timings vary with machine load).
 * Progress goes to stderr, the report to stdout.
 */
import type { Command } from "commander";
import type { EstateSpec } from "../../model/estate.js";
import type { FaultDrillKind } from "../../runtime/local/drills/fault.js";
import type { LocalEstate } from "../../runtime/local/estate.js";
import { UserError } from "../errors.js";
import { faultSeconds, millis, share, skewMillis } from "../local/fault-args.js";

interface DrillOptions {
  stack: string;
  duration?: number;
  latencyMs?: number;
  jitterMs?: number;
  loss?: number;
  service?: string;
  skewMs?: number;
  region?: string;
  json?: boolean;
  strict?: boolean;
  timeout: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > 3600) throw new UserError(`--timeout: expected seconds (0-3600], got "${value}"`);
  return n;
}

/** --service names one of the stack's health signals (the services the GSLB probes in each region). */
async function knownService(spec: EstateSpec, service: string | undefined): Promise<void> {
  const { trafficPolicy } = await import("../../model/traffic/policy.js");
  const names = trafficPolicy(spec).signals.map((s) => s.name);
  if (service !== undefined && !names.includes(service)) throw new UserError(`--service: no service "${service}" in stack ${spec.stack}; expected one of ${names.join(", ")}`);
}

/** Check the stack and --region (and the drill's own arguments) before anything starts or loads (exit 2 on a mistake). */
async function checkedSpec(o: DrillOptions, check?: (spec: EstateSpec) => Promise<void>): Promise<EstateSpec> {
  const { buildEstateSpec } = await import("../../model/estate.js");
  const { loadStack } = await import("../../stacks/load.js");
  const spec = buildEstateSpec(o.stack, loadStack(o.stack));
  if (o.region !== undefined && !spec.regions.some((r) => r.id === o.region))
    throw new UserError(`--region: no region "${o.region}" in stack ${spec.stack}; expected one of ${spec.regions.map((r) => r.id).join(", ")}`);
  await check?.(spec);
  return spec;
}

/** Where a drill's report, progress and failure go: the process's stdout, stderr and exit status. */
export interface DrillOutput {
  report(text: string): void;
  progress(line: string): void;
  failed(): void;
}

const processOutput: DrillOutput = {
  report: (text) => void process.stdout.write(text),
  progress: (line) => void process.stderr.write(`meridian drill: ${line}\n`),
  failed: () => void (process.exitCode = 1),
};

/** Runs a drill on an estate of `spec`. The command's: a fresh one started for the drill and stopped after it. */
export type DrillEstate = <T>(spec: EstateSpec, output: DrillOutput, run: (estate: LocalEstate) => Promise<T>) => Promise<T>;

const freshEstate: DrillEstate = async (spec, output, run) => {
  const { LocalEstate } = await import("../../runtime/local/estate.js");
  // Starting takes seconds per region: say so on stderr (stdout is the report, for `> file` and `| jq`).
  const estate = await LocalEstate.start({ spec, dnsPort: 0, basePort: 0, progress: output.progress });
  output.progress("estate up; running the drill …");
  try {
    return await run(estate);
  } finally {
    await estate.stop();
  }
};

/**
 * The drill commands. `estate` and `output` are the process's unless given: tests run several drills on one
 * estate (starting one takes longer than most drills) and read what each would have printed.
 */
export function register(program: Command, { estate = freshEstate, output = processOutput }: { estate?: DrillEstate; output?: DrillOutput } = {}): void {
  const drill = program.command("drill").description("run a failure drill against the local estate and compare it with the runbook");
  drill
    .command("regional-outage")
    .description("kill -9 the answered region mid-sale; measure detection, DNS failover and drain; check escrow and the proof log")
    .option("-s, --stack <name>", "stack to run", "local")
    .option("--region <id>", "region to kill (default: the one DNS answers with)")
    .option("--json", "print the measurement as JSON")
    .option("--strict", "also fail when a measured time exceeds the runbook's bound")
    .option("--timeout <s>", "give up on any one wait after this many seconds (the drill then fails, saying what it waited for)", seconds, 60)
    .action(async (o: DrillOptions) => {
      const spec = await checkedSpec(o);
      const { regionalOutageDrill } = await import("../../runtime/local/drills/regional-outage.js");
      const { renderOutage, outagePhases } = await import("../render/drill.js");
      const m = await estate(spec, output, (e) => regionalOutageDrill(e, { region: o.region, timeoutMs: o.timeout * 1000 }));
      output.report(o.json ? `${JSON.stringify({ ...m, phases: outagePhases(m) }, null, 2)}\n` : renderOutage(m));
      if (m.checks.some((c) => !c.ok) || (o.strict && outagePhases(m).some((p) => !p.ok))) output.failed();
    });
  drill
    .command("clock-skew")
    .description("push one region's clock past the max offset and back; show degrade → freeze → recover")
    .option("-s, --stack <name>", "stack to run", "local")
    .option("--region <id>", "region to skew (default: the last one)")
    .option("--json", "print the result as JSON")
    .option("--strict", "also fail when a measured time exceeds its bound (hold-down, detection)")
    .option("--timeout <s>", "give up on any one wait after this many seconds (the drill then fails, saying what it waited for)", seconds, 60)
    .action(async (o: DrillOptions) => {
      const spec = await checkedSpec(o);
      const { clockSkewDrill, skewPhases } = await import("../../runtime/local/drills/clock-skew.js");
      const { renderSkew } = await import("../render/drill.js");
      const r = await estate(spec, output, (e) => clockSkewDrill(e, { region: o.region, timeoutMs: o.timeout * 1000 }));
      output.report(o.json ? `${JSON.stringify({ ...r, phases: skewPhases(r) }, null, 2)}\n` : renderSkew(r));
      if (r.checks.some((c) => !c.ok) || (o.strict && skewPhases(r).some((p) => !p.ok))) output.failed();
    });
  const faultDrill = (name: FaultDrillKind, description: string, options: (cmd: Command) => Command = (cmd) => cmd) => {
    const cmd = drill
      .command(name)
      .description(description)
      .option("-s, --stack <name>", "stack to run", "local")
      .option("--region <id>", "region to hit (default: the first)")
      .option("--duration <s>", "how long the fault lasts before it reverts by itself (0-600]", faultSeconds, 8);
    options(cmd)
      .option("--json", "print the result as JSON")
      .option("--strict", "also fail when a measured time exceeds its bound (detection, revert, recovery)")
      .option("--timeout <s>", "give up on any one wait after this many seconds (the drill then fails, saying what it waited for)", seconds, 60)
      .action(async (o: DrillOptions) => {
        const spec = await checkedSpec(o, name === "degrade" ? (s) => knownService(s, o.service) : undefined);
        const { faultDrill: run, faultPhases } = await import("../../runtime/local/drills/fault.js");
        const { renderFault } = await import("../render/drill.js");
        const r = await estate(spec, output, (e) =>
          run(e, name, {
            region: o.region,
            durationMs: o.duration! * 1000,
            timeoutMs: o.timeout * 1000,
            latencyMs: o.latencyMs,
            jitterMs: o.jitterMs,
            loss: o.loss,
            service: o.service,
            skewMs: o.skewMs,
          }),
        );
        output.report(o.json ? `${JSON.stringify({ ...r, phases: faultPhases(r) }, null, 2)}\n` : renderFault(r));
        if (r.checks.some((c) => !c.ok) || (o.strict && faultPhases(r).some((p) => !p.ok))) output.failed();
      });
  };
  faultDrill("partition", "partition one region's network for a while (reverts by itself); the GSLB must drop it and take it back");
  faultDrill("latency", "add latency to one region's network for a while (reverts by itself); measure the probes' round trip and the GSLB's verdict", (cmd) =>
    cmd
      .option("--latency-ms <ms>", "delay added to every chunk, each way (1-10000)", millis("--latency-ms", 1, 10_000), 300)
      .option("--jitter-ms <ms>", "uniform jitter on top (0-10000)", millis("--jitter-ms", 0, 10_000), 0),
  );
  faultDrill("loss", "drop a share of new connections to one region for a while (reverts by itself); a client measures the loss it sees", (cmd) =>
    cmd.option("--loss <share>", "share of new connections black-holed, (0-1]", share, 0.3),
  );
  faultDrill("degrade", "force one region's service signal failing for a while (reverts by itself); the client and the GSLB must see it and its recovery", (cmd) =>
    cmd.option("--service <name>", "the service to fail (one of the stack's health signals)", "escrow"),
  );
  faultDrill("skew", "run one region's clock off for a while (reverts by itself); its clock state must follow, then recover after the hold-down", (cmd) =>
    cmd.option("--skew-ms <ms>", "clock offset to inject, ± whole ms (default 1.2 × the max offset: frozen)", skewMillis),
  );
}
