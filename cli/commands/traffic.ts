/**
 * `meridian traffic drain|restore <region>`: the operator's routing controls (Route 53 ARC-style). Against
 * a stack they edit `meridian:dns.drained` in stacks/Pulumi.<stack>.yaml (comments kept), so `pulumi up`
 * makes every provider stop answering with the region through its own mechanism (components/dns/*);
 * with `--log <url>` the change is appended to that proof log first (the entry a running estate logs for a live
 * drain), so a drain nobody can later prove is not written; with `--dashboard <url>` they flip a running
 * `meridian local` estate at once, logged in its proof log.
 * Refused (exit 2, nothing changed) for an unknown region and for the last undrained (live: healthy) region.
 */
import type { Command } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { UserError } from "../errors.js";

interface Options {
  stack?: string;
  dashboard?: string;
  log?: string;
}

/**
 * Append the routing-control entry (runtime/local's shape, `via: "stack"`) to the proof log at `log`: its index, or
 * undefined after saying why not (exit 1: the log is down or refused, not a usage mistake).
 */
async function logged(log: string, entry: Record<string, unknown>): Promise<number | undefined> {
  const { LogClient } = await import("../../runtime/prooflog/index.js");
  try {
    return (await new LogClient(log).add(new TextEncoder().encode(JSON.stringify(entry)))).index;
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    process.stderr.write(`meridian: --log ${log}: cannot append the routing change to the proof log (${cause?.message ?? (err as Error).message}); the stack is unchanged\n`);
    process.exitCode = 1;
    return undefined;
  }
}

async function live(action: "drain" | "restore", region: string, dashboard: string): Promise<void> {
  const url = `${dashboard.replace(/\/+$/, "")}/api/regions/${encodeURIComponent(region)}/${action}`;
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new UserError(`--dashboard ${dashboard}: cannot reach the local estate (${(err as Error).message})`);
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text;
    try {
      const body = JSON.parse(text) as { error?: string; detail?: string };
      detail = body.detail ?? body.error ?? text;
    } catch {
      // not JSON: print as is
    }
    throw new UserError(`${action} ${region}: ${detail}`);
  }
  const body = JSON.parse(text) as { drained: string[]; logIndex: number };
  process.stdout.write(`${action === "drain" ? "drained" : "restored"} ${region} on the running estate: drained now ${body.drained.join(", ") || "(none)"}; proof log entry ${body.logIndex}\n`);
}

async function inStack(action: "drain" | "restore", region: string, stack: string, log: string | undefined): Promise<void> {
  const { loadStack, stackFile } = await import("../../stacks/load.js");
  const { drain, restore, DrainRefused } = await import("../../model/traffic/drain.js");
  const config = loadStack(stack);
  const ids = config.regions.map((r) => r.id);
  let next: string[];
  try {
    next = action === "drain" ? drain(ids, config.dns.drained, region) : restore(ids, config.dns.drained, region);
  } catch (err) {
    if (err instanceof DrainRefused) throw new UserError(`${action} ${region} (stack ${stack}): ${err.message}`);
    throw err;
  }
  // In the log first, as a live drain is: the stack file changes only once the decision is provable.
  let index: number | undefined;
  if (log !== undefined) {
    index = await logged(log, { type: "meridian.traffic.routing-control", via: "stack", stack, action, region, drained: next, atMs: Date.now() });
    if (index === undefined) return;
  }
  const { parseDocument } = await import("yaml");
  const file = stackFile(stack);
  const doc = parseDocument(readFileSync(file, "utf8"));
  const path = ["config", "meridian:dns", "drained"];
  if (next.length === 0) doc.deleteIn(path);
  else doc.setIn(path, doc.createNode(next, { flow: true }));
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  process.stdout.write(
    `${action === "drain" ? "drained" : "restored"} ${region} in stack ${stack}: meridian:dns.drained = [${next.join(", ")}]` +
      `${index === undefined ? " (not in a proof log: pass --log <url>)" : `; proof log entry ${index}`}\n` +
      `run \`pulumi up --stack ${stack}\` to apply it on every provider (Route 53 records, Cloud DNS routing items, Traffic Manager endpoints, Cloudflare origins)\n`,
  );
}

export function register(program: Command): void {
  const traffic = program.command("traffic").description("operator routing controls: drain a region from every DNS provider's answers, or restore it");
  for (const action of ["drain", "restore"] as const) {
    traffic
      .command(`${action} <region>`)
      .description(
        action === "drain" ? "stop every provider answering with <region> (refused for an unknown region or the last undrained one)" : "hand <region> back to its health checks on every provider",
      )
      .option("--stack <name>", "edit this stack's meridian:dns.drained (applied by `pulumi up`)")
      .option("--log <url>", "with --stack: append the change to this proof log first (refused, stack unchanged, if it cannot be logged)")
      .option("--dashboard <url>", "flip the running `meridian local` estate behind this dashboard at once (logged in its proof log)")
      .action(async (region: string, o: Options) => {
        if ((o.stack === undefined) === (o.dashboard === undefined)) throw new UserError("give exactly one of --stack <name> (the stack's config) or --dashboard <url> (a running meridian local)");
        if (o.log !== undefined && o.stack === undefined) throw new UserError("--log goes with --stack (a running estate logs in its own proof log)");
        if (o.dashboard !== undefined) await live(action, region, o.dashboard);
        else await inStack(action, region, o.stack!, o.log);
      });
  }
}
