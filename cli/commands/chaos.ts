/**
 * `meridian chaos partition|latency|loss|skew|degrade --region <id>`, `chaos list`, `chaos revert <id>`: the
 * chaos toolkit of a running `meridian local` estate from the command line — the same timed faults as the
 * dashboard's Chaos panel, through its API (`--dashboard <url>`, default the local stack's dashboard). Every
 * fault reverts by itself after `--duration`; a region restarted meanwhile gets it again. Values are checked
 * before the estate is asked (exit 2); what the estate refuses (unknown region or service, nothing to
 * revert) is exit 2 with its reason; an estate that cannot be reached is exit 1.
 */
import type { Command } from "commander";
import type { ActiveFault, FaultInput } from "../../runtime/local/chaos.js";
import { UserError } from "../errors.js";
import { faultSeconds, millis, share, skewMillis } from "../local/fault-args.js";

interface ChaosOptions {
  region: string;
  duration: number;
  dashboard?: string;
  json?: boolean;
  latencyMs?: number;
  jitterMs?: number;
  loss?: number;
  skewMs?: number;
  service?: string;
}

/** The dashboard asked for, or the local stack's own (what `npm start` serves). */
async function dashboardUrl(given: string | undefined): Promise<string> {
  if (given !== undefined) {
    if (!/^https?:\/\/[^/]+\/?$/.test(given)) throw new UserError(`--dashboard: expected the dashboard's base URL, e.g. http://127.0.0.1:7000, got "${given}"`);
    return given.replace(/\/+$/, "");
  }
  const { buildEstateSpec } = await import("../../model/estate.js");
  const { loadStack } = await import("../../stacks/load.js");
  return `http://127.0.0.1:${buildEstateSpec("local", loadStack("local")).runtime.local.dashboardPort}`;
}

/** The running estate could not be asked (not running, still starting): one line, exit 1. */
class EstateUnavailable extends Error {}

/** Run an action; an estate that cannot be asked is one line naming it, exit 1 (not a usage error). */
function guard<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (e) {
      if (!(e instanceof EstateUnavailable)) throw e;
      process.stderr.write(`meridian: ${e.message}\n`);
      process.exitCode = 1;
    }
  };
}

/** One call to the running estate's dashboard API; its refusals are the user's to fix (exit 2). */
async function call<T>(base: string, path: string, body?: object): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method: body ? "POST" : "GET",
      ...(body ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new EstateUnavailable(
      `cannot reach a running meridian local at ${base} (${cause?.code ?? cause?.message ?? (err as Error).message}); start one with \`npm start\` or pass --dashboard <url>`,
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (res.status === 503) throw new EstateUnavailable(`the local estate at ${base} is still starting; try again in a few seconds`);
  if (!res.ok) {
    const e = parsed as { error?: string; detail?: string } | undefined;
    throw new UserError(e?.detail ?? e?.error ?? `HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  return parsed as T;
}

const until = (atMs: number) => new Date(atMs).toISOString().slice(11, 19) + "Z";

export function register(program: Command): void {
  const chaos = program.command("chaos").description("inject timed faults into a running `meridian local` estate (they revert by themselves), list and revert them");
  const kind = (name: FaultInput["kind"], description: string, options: (cmd: Command) => Command, fault: (o: ChaosOptions) => FaultInput) => {
    const cmd = chaos
      .command(name)
      .description(description)
      .requiredOption("--region <id>", "the region to hit")
      .option("--duration <s>", "how long the fault lasts before it reverts by itself (0-600]", faultSeconds, 30);
    options(cmd)
      .option("--dashboard <url>", "the running estate's dashboard (default: the local stack's, http://127.0.0.1:7000)")
      .option("--json", "print the active fault as JSON")
      .action(
        guard(async (o: ChaosOptions) => {
          const base = await dashboardUrl(o.dashboard);
          const { region, ...input } = fault(o) as FaultInput & { region: string };
          const active = await call<ActiveFault>(base, `/api/regions/${encodeURIComponent(o.region)}/fault`, { ...input, durationSeconds: o.duration });
          if (o.json) return void process.stdout.write(`${JSON.stringify(active, null, 2)}\n`);
          const { describeFault } = await import("../../runtime/local/chaos.js");
          process.stdout.write(
            `fault ${active.id} on ${region}: ${describeFault(active.fault)} for ${o.duration} s; reverts by itself at ${until(active.revertAtMs)} (earlier: meridian chaos revert ${active.id}${o.dashboard ? ` --dashboard ${base}` : ""})\n`,
          );
        }),
      );
  };
  kind(
    "partition",
    "black-hole every connection to the region's public address",
    (c) => c,
    (o) => ({ kind: "partition", region: o.region }),
  );
  kind(
    "latency",
    "delay the region's network both ways",
    (c) =>
      c
        .option("--latency-ms <ms>", "delay added to every chunk, each way (1-10000)", millis("--latency-ms", 1, 10_000), 300)
        .option("--jitter-ms <ms>", "uniform jitter on top (0-10000)", millis("--jitter-ms", 0, 10_000), 0),
    (o) => ({ kind: "latency", region: o.region, latencyMs: o.latencyMs!, jitterMs: o.jitterMs! }),
  );
  kind(
    "loss",
    "drop a share of new connections to the region",
    (c) => c.option("--loss <share>", "share of new connections black-holed, (0-1]", share, 0.3),
    (o) => ({ kind: "loss", region: o.region, loss: o.loss! }),
  );
  kind(
    "skew",
    "run the region's clock off (past the max offset its clock freezes and the GSLB degrades it)",
    (c) => c.requiredOption("--skew-ms <ms>", "clock offset, ± whole ms", skewMillis),
    (o) => ({ kind: "skew", region: o.region, skewMs: o.skewMs! }),
  );
  kind(
    "degrade",
    "force one of the region's service signals failing (the GSLB counts it)",
    (c) => c.requiredOption("--service <name>", "the service to fail: one of the region's health signals (clock, ratelimit, escrow)"),
    (o) => ({ kind: "degrade", region: o.region, service: o.service! }),
  );

  chaos
    .command("list")
    .description("the faults in force on the running estate, with when each reverts")
    .option("--dashboard <url>", "the running estate's dashboard (default: the local stack's, http://127.0.0.1:7000)")
    .option("--json", "print them as JSON")
    .action(
      guard(async (o: { dashboard?: string; json?: boolean }) => {
        const base = await dashboardUrl(o.dashboard);
        const { faults } = await call<{ faults: ActiveFault[] }>(base, "/api/state");
        if (o.json) return void process.stdout.write(`${JSON.stringify(faults, null, 2)}\n`);
        const { describeFault } = await import("../../runtime/local/chaos.js");
        if (faults.length === 0) return void process.stdout.write("no faults in force\n");
        for (const f of faults) process.stdout.write(`fault ${f.id}  ${f.fault.region}  ${describeFault(f.fault)}  reverts at ${until(f.revertAtMs)}\n`);
      }),
    );

  chaos
    .command("revert <id>")
    .description("end a fault now instead of at its time")
    .option("--dashboard <url>", "the running estate's dashboard (default: the local stack's, http://127.0.0.1:7000)")
    .action(
      guard(async (id: string, o: { dashboard?: string }) => {
        if (!/^[1-9]\d{0,8}$/.test(id)) throw new UserError(`<id>: expected a fault number as \`meridian chaos list\` shows it, got "${id}"`);
        const base = await dashboardUrl(o.dashboard);
        await call(base, `/api/faults/${id}/revert`, {});
        process.stdout.write(`fault ${id} reverted\n`);
      }),
    );
}
