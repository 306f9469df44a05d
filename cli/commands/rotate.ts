/**
 * `meridian rotate --plan --stack <name> [--start <ISO time>] [--json]`: the staged certificate rotation
 * across the stack's regions from model/rotation — canary, waves, verification gates, stagger, the
 * per-region commands and the rollback rule. It plans; cert-manager and the operator carry it out.
 */
import type { Command } from "commander";
import type { EstateSpec, Region } from "../../model/estate.js";
import type { RotationPlan } from "../../model/rotation/plan.js";
import type { WaveCommands } from "../../model/rotation/commands.js";
import { UserError } from "../errors.js";

interface RotateOptions {
  stack: string;
  plan?: boolean;
  start?: string;
  json?: boolean;
}

const HOUR = 3600_000;

/** The next full hour after `now`: a plan starts on a round time unless told otherwise. */
export function defaultStart(now: number): number {
  return Math.floor(now / HOUR) * HOUR + HOUR;
}

export function parseStart(text: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    throw new UserError(`--start: got ${JSON.stringify(text)}; expected an ISO 8601 time with a zone, e.g. 2026-12-01T09:00Z`);
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UserError(`--start: got ${JSON.stringify(text)}; not a real date`);
  return t;
}

export function register(program: Command): void {
  program
    .command("rotate")
    .description("plan a staged certificate rotation across regions: canary, waves, gates, stagger, rollback")
    .option("--plan", "print the rotation plan (the only mode: renewals themselves are cert-manager's)")
    .option("-s, --stack <name>", "stack name", "prod")
    .option("--start <time>", "when the canary starts (ISO 8601 with zone); default: the next full hour")
    .option("--json", "print the plan as JSON")
    .action(async (opts: RotateOptions) => {
      if (!opts.plan) throw new UserError("meridian rotate only plans; pass --plan (e.g. meridian rotate --plan --stack prod)");
      const start = opts.start === undefined ? defaultStart(Date.now()) : parseStart(opts.start);
      const { loadStack } = await import("../../stacks/load.js");
      const { buildEstateSpec } = await import("../../model/estate.js");
      const { planRotation } = await import("../../model/rotation/plan.js");
      const spec = buildEstateSpec(opts.stack, loadStack(opts.stack));
      const plan = planRotation(spec, start);
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ ...plan, waves: plan.waves.map((w) => ({ ...w, startsAt: iso(w.startsAt), gateStartsAt: iso(w.gateStartsAt), gateEndsAt: iso(w.gateEndsAt) })), startsAt: iso(plan.startsAt), endsAt: iso(plan.endsAt) }, null, 2)}\n`,
        );
        return;
      }
      const { waveCommands, fetchKubeconfig } = await import("../../model/rotation/commands.js");
      process.stdout.write(renderRotation(spec, plan, { waveCommands, fetchKubeconfig }));
    });
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const day = (t: number) => new Date(t).toISOString().slice(0, 16).replace("T", " ");
const pct = (x: number) => `${Math.round(x * 100)}%`;

interface CommandSource {
  waveCommands(region: Region): WaveCommands;
  fetchKubeconfig(region: Region): string | undefined;
}

/** The plan as text: a wave table with UTC times, then each wave's gate checks and commands, then the rollback rule. */
export function renderRotation(spec: EstateSpec, plan: RotationPlan, commands: CommandSource): string {
  const { applyMinutes, gateMinutes } = spec.pki.rotation;
  const out: string[] = [
    `Rotation plan for stack ${plan.stack}: ${plan.waves.length} waves over ${spec.regions.length} regions, ` +
      `${plan.staggerHours}h stagger, ${applyMinutes} min rollout + ${gateMinutes} min gate per wave`,
    `Starts ${day(plan.startsAt)} UTC, last gate ends ${day(plan.endsAt)} UTC`,
    "",
  ];
  const rows = plan.waves.map((w) => [w.name, w.regions.join(", "), pct(w.share), day(w.startsAt), `${hhmm(w.gateStartsAt)} → ${hhmm(w.gateEndsAt)}`, w.renewBefore]);
  const header = ["wave", "regions", "share", "starts (UTC)", "gate (UTC)", "renewBefore"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  out.push(line(header), ...rows.map(line), "");
  out.push(
    `Automatic renewals follow the same order: cert-manager renews each wave's certificates renewBefore ahead of expiry,`,
    `so the canary renews ${plan.staggerHours}h before wave 1, and so on; a rotation run re-aligns them.`,
    "",
  );
  const byId = new Map(spec.regions.map((r) => [r.id, r]));
  for (const w of plan.waves) {
    out.push(`── ${w.name} (${w.regions.join(", ")}) at ${day(w.startsAt)} UTC`);
    for (const id of w.regions) {
      const region = byId.get(id) as Region;
      const c = commands.waveCommands(region);
      const fetch = commands.fetchKubeconfig(region);
      out.push(`  ${id}:`);
      if (fetch) out.push(`    ${fetch}`);
      out.push(`    ${c.backup}`, `    ${c.renew}`, `    ${c.watch}`);
    }
    out.push(`  gate ${hhmm(w.gateStartsAt)}–${hhmm(w.gateEndsAt)} UTC, every check must pass:`);
    for (const g of w.gate) {
      out.push(`    • ${g.name} (${g.kind}) — pass: ${g.pass}`);
      for (const l of g.check.split("\n")) out.push(`        ${l}`);
    }
    out.push(`  on failure, roll back ${w.regions.join(", ")}:`);
    for (const id of w.regions) out.push(`    ${commands.waveCommands(byId.get(id) as Region).rollback}`);
    out.push("");
  }
  out.push(`Rollback rule: ${plan.rollback}`, "");
  return out.join("\n");
}
