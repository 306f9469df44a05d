/**
 * `meridian local`'s arguments checked against the stack before anything starts — and before the estate's
 * modules load, so a mistake exits 2 at once. Light imports only: the model and the stack loader.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { routingModes, type RoutingMode } from "../../model/config/traffic.js";
import { buildEstateSpec, type EstateSpec } from "../../model/estate.js";
import { loadStack } from "../../stacks/load.js";
import type { LocalOptions } from "../commands/local.js";
import { UserError } from "../errors.js";

export interface LocalPlan {
  spec: EstateSpec;
  regionIds: string[];
  dashboardPort: number;
  dnsPort: number;
  basePort: number;
  redis?: string;
  postgres?: string;
  routing?: { mode?: RoutingMode; weights?: Record<string, number> };
  queryLog?: string;
}

/** `--routing` and `--weights`, checked against the schema and the stack. */
function chooseRouting(spec: EstateSpec, mode: string | undefined, weights: string | undefined): LocalPlan["routing"] {
  if (mode !== undefined && !(routingModes as readonly string[]).includes(mode)) throw new UserError(`--routing: expected one of ${routingModes.join(", ")}, got "${mode}"`);
  let parsed: Record<string, number> | undefined;
  if (weights !== undefined) {
    parsed = {};
    const ids = spec.regions.map((r) => r.id);
    for (const item of weights
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const m = /^([^=]+)=(\d+)$/.exec(item);
      if (!m || Number(m[2]) > 255) throw new UserError(`--weights: expected region=weight (0-255), got "${item}"`);
      if (!ids.includes(m[1]!)) throw new UserError(`--weights: no region "${m[1]}" in stack ${spec.stack}; expected one of ${ids.join(", ")}`);
      parsed[m[1]!] = Number(m[2]);
    }
    if (Object.keys(parsed).length === 0) throw new UserError("--weights: expected region=weight pairs");
  }
  return mode === undefined && parsed === undefined ? undefined : { mode: mode as RoutingMode | undefined, weights: parsed };
}

/** `--regions 2` (the first two) or `--regions local-aws,local-gcp`, checked against the stack. */
function chooseRegions(spec: EstateSpec, value: string | undefined, flag = "--regions"): string[] {
  const ids = spec.regions.map((r) => r.id);
  if (value === undefined) return ids;
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1 || n > ids.length) throw new UserError(`${flag}: stack ${spec.stack} has ${ids.length} regions; expected 1-${ids.length}, got ${value}`);
    return ids.slice(0, n);
  }
  const asked = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of asked) if (!ids.includes(id)) throw new UserError(`${flag}: no region "${id}" in stack ${spec.stack}; expected one of ${ids.join(", ")}`);
  if (asked.length === 0) throw new UserError(`${flag}: expected a number or region ids`);
  return ids.filter((id) => asked.includes(id));
}

export function localPlan(opts: LocalOptions): LocalPlan {
  const spec = buildEstateSpec(opts.stack, loadStack(opts.stack));
  const ports = spec.runtime.local;
  const pick = (given: number | undefined, stackDefault: number) => given ?? (opts.autoPorts ? 0 : stackDefault);
  return {
    spec,
    regionIds: chooseRegions(spec, opts.regions),
    dashboardPort: pick(opts.port, ports.dashboardPort),
    dnsPort: pick(opts.dnsPort, ports.dnsPort),
    basePort: pick(opts.basePort, ports.basePort),
    redis: opts.redis,
    postgres: opts.postgres,
    routing: chooseRouting(spec, opts.routing, opts.weights),
    queryLog: checkQueryLog(opts.queryLog),
  };
}

function checkQueryLog(target: string | undefined): string | undefined {
  if (target === undefined || target === "-") return target;
  if (!existsSync(dirname(resolve(target)))) throw new UserError(`--query-log: directory ${dirname(resolve(target))} does not exist`);
  return target;
}
