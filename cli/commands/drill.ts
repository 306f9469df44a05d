/**
 * `meridian drill regional-outage|clock-skew`: bring up the local estate on ephemeral ports, inject the
 * fault, and print what was measured next to the runbook's numbers. Exits 1 when an invariant fails;
 * with --strict also when a measurement misses the runbook's bound (timings vary with machine load).
 */
import type { Command } from "commander";
import { UserError } from "../errors.js";

interface DrillOptions {
  stack: string;
  region?: string;
  json?: boolean;
  strict?: boolean;
}

/** Check the stack and --region before anything starts (exit 2 on a mistake), then run the drill on a fresh estate. */
async function withEstate<T>(o: DrillOptions, run: (estate: import("../../runtime/local/estate.js").LocalEstate) => Promise<T>): Promise<T> {
  const { buildEstateSpec } = await import("../../model/estate.js");
  const { loadStack } = await import("../../stacks/load.js");
  const spec = buildEstateSpec(o.stack, loadStack(o.stack));
  if (o.region !== undefined && !spec.regions.some((r) => r.id === o.region))
    throw new UserError(`--region: no region "${o.region}" in stack ${spec.stack}; expected one of ${spec.regions.map((r) => r.id).join(", ")}`);
  const { LocalEstate } = await import("../../runtime/local/estate.js");
  const estate = await LocalEstate.start({ spec, dnsPort: 0, basePort: 0 });
  try {
    return await run(estate);
  } finally {
    await estate.stop();
  }
}

export function register(program: Command): void {
  const drill = program.command("drill").description("run a failure drill against the local estate and compare it with the runbook");
  drill
    .command("regional-outage")
    .description("kill -9 the answered region mid-sale; measure detection, DNS failover and drain; check escrow and the proof log")
    .option("-s, --stack <name>", "stack to run", "local")
    .option("--region <id>", "region to kill (default: the one DNS answers with)")
    .option("--json", "print the measurement as JSON")
    .option("--strict", "also fail when a measured time exceeds the runbook's bound")
    .action(async (o: DrillOptions) => {
      const { regionalOutageDrill } = await import("../../runtime/local/drills/regional-outage.js");
      const { renderOutage, outagePhases } = await import("../render/drill.js");
      const m = await withEstate(o, (estate) => regionalOutageDrill(estate, { region: o.region }));
      process.stdout.write(o.json ? `${JSON.stringify({ ...m, phases: outagePhases(m) }, null, 2)}\n` : renderOutage(m));
      if (m.checks.some((c) => !c.ok) || (o.strict && outagePhases(m).some((p) => !p.ok))) process.exitCode = 1;
    });
  drill
    .command("clock-skew")
    .description("push one region's clock past the max offset and back; show degrade → freeze → recover")
    .option("-s, --stack <name>", "stack to run", "local")
    .option("--region <id>", "region to skew (default: the last one)")
    .option("--json", "print the result as JSON")
    .action(async (o: DrillOptions) => {
      const { clockSkewDrill } = await import("../../runtime/local/drills/clock-skew.js");
      const { renderSkew } = await import("../render/drill.js");
      const r = await withEstate(o, (estate) => clockSkewDrill(estate, { region: o.region }));
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : renderSkew(r));
      if (r.checks.some((c) => !c.ok)) process.exitCode = 1;
    });
}
