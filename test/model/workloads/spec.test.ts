// Workload specs: one per catalogue service per region, bounds from the stack, and command lines the
// real `meridian` CLI accepts — parsed by the same commander program bin/meridian.mjs builds, with
// each action swapped for a recorder, so an unknown or missing flag fails here, not in a crash loop.
import { Command, CommanderError } from "commander";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { RUNTIME_SERVICES } from "../../../model/services.js";
import { regionWorkloads, workloadSpec, type WorkloadSpec } from "../../../model/workloads/spec.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

const prod = (): EstateSpec => buildEstateSpec("prod", parseEstateConfig(readStackConfigMap("prod"), "prod"));

async function cliProgram(): Promise<Command> {
  const program = new Command("meridian").exitOverride();
  const dir = fileURLToPath(new URL("../../../cli/commands/", import.meta.url));
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
  return program;
}

function subcommand(program: Command, path: string[]): Command | undefined {
  let cmd: Command | undefined = program;
  for (const name of path) cmd = cmd?.commands.find((c) => c.name() === name);
  return cmd;
}

/** Parse args with the real command definitions; returns the options its action would receive. */
async function parseWithCli(program: Command, args: string[]): Promise<Record<string, unknown>> {
  const cmd = subcommand(program, args.slice(0, 2))!;
  let seen: Record<string, unknown> | undefined;
  cmd.action((opts: Record<string, unknown>) => {
    seen = opts;
  });
  cmd.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  await program.parseAsync(args, { from: "user" });
  if (!seen) throw new Error(`${args.slice(0, 2).join(" ")}: the action did not run`);
  return seen;
}

const program = await cliProgram();
const timeServe = subcommand(program, ["time", "serve"]) !== undefined;

describe("regionWorkloads", () => {
  it("gives every catalogue service in every region the stack's image and replica bounds", () => {
    const spec = prod();
    for (const region of spec.regions) {
      const ws = regionWorkloads(spec, region.id);
      expect(ws.map((w) => w.service.name)).toEqual(RUNTIME_SERVICES.map((s) => s.name));
      for (const w of ws.filter((x) => !["prooflog", "escrow", "quota"].includes(x.service.name))) {
        expect(w.image).toBe(spec.runtime.image);
        expect(w.replicas).toBe(spec.runtime.replicas);
        expect(w.strategy).toBe("RollingUpdate");
        expect(w.autoscaling!.minReplicas).toBe(spec.runtime.replicas);
        expect(w.autoscaling!.maxReplicas).toBeGreaterThan(w.autoscaling!.minReplicas);
        expect(w.maxUnavailable).toBeLessThan(w.autoscaling!.minReplicas);
      }
    }
  });

  it("runs the proof log's one sequencer in the ledger region only: one pod, no autoscaler, Recreate; standbys at zero elsewhere", () => {
    const spec = prod();
    const logs = spec.regions.map((r) => regionWorkloads(spec, r.id).find((w) => w.service.name === "prooflog")!);
    expect(logs.filter((w) => w.replicas > 0).map((w) => [w.region, w.replicas])).toEqual([[spec.replication.writers[0], 1]]);
    for (const w of logs) {
      expect(w.autoscaling).toBeNull();
      expect(w.strategy).toBe("Recreate");
    }
  });

  it("runs the quota service as one writer next to the log when the estate has tenants, and none without", () => {
    const spec = prod();
    const quota = (s: typeof spec) => s.regions.map((r) => regionWorkloads(s, r.id).find((w) => w.service.name === "quota")!);
    expect(quota(spec).every((w) => w.replicas === 0 && w.autoscaling === null && w.strategy === "Recreate")).toBe(spec.runtime.quota.tenants.length === 0);
    const withTenants = { ...spec, runtime: { ...spec.runtime, quota: { authorities: ["root"], tenants: [{ id: "acme", owners: ["a"], hard: { cpu: 4, memory: 8 }, container: { defaultRequest: { cpu: 0.1, memory: 0.125 }, default: { cpu: 0.5, memory: 0.5 } } }] } } };
    expect(quota(withTenants).filter((w) => w.replicas > 0).map((w) => [w.region, w.replicas])).toEqual([[spec.replication.writers[0], 1]]);
    expect(JSON.parse(quota(withTenants)[0]!.config["quota.json"]!)).toMatchObject({ schema: "meridian_quota", authorities: ["root"], tenants: [{ id: "acme", hard: { cpu: 4, memory: 8 } }] });
  });

  it("runs one escrow pod per region: it holds the region's lease and open reservations in memory", () => {
    const spec = prod();
    for (const region of spec.regions) {
      const w = regionWorkloads(spec, region.id).find((x) => x.service.name === "escrow")!;
      expect(w).toMatchObject({ replicas: 1, autoscaling: null, strategy: "Recreate" });
    }
  });

  it("never puts a credential in args: store URLs are $(VAR)s defined by env, and env refers only to earlier vars", () => {
    const spec = prod();
    for (const w of regionWorkloads(spec, spec.regions[0]!.id)) {
      const names = w.env.map((e) => e.name);
      for (const a of w.args) for (const [, v] of a.matchAll(/\$\((\w+)\)/g)) expect(names, `${w.service.name} ${a}`).toContain(v);
      w.env.forEach((e, i) => {
        if ("value" in e) for (const [, v] of e.value.matchAll(/\$\((\w+)\)/g)) expect(names.slice(0, i), `${e.name} uses ${v}`).toContain(v);
      });
      expect(w.args.join(" ")).not.toMatch(/password|PRIVATE\+KEY/i);
    }
  });

  it("passes cosigning witnesses as --witness url=vkey and keeps name-only witnesses in config", () => {
    const spec = prod();
    const vkey = "witness-d+0a1b2c3d+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    spec.runtime.prooflog.witnesses = ["witness-a", { name: "witness-d", url: "https://witness-d.example", vkey }];
    const log = workloadSpec(spec, "aws-use1", RUNTIME_SERVICES.find((s) => s.name === "prooflog")!);
    expect(log.args.filter((a, i) => log.args[i - 1] === "--witness")).toEqual([`https://witness-d.example=${vkey}`]);
    expect(JSON.parse(log.config["prooflog.json"]!).witnesses).toHaveLength(2);
  });
});

describe("command lines against the real CLI", () => {
  const spec = prod();
  const byService = (name: string): WorkloadSpec => regionWorkloads(spec, "gcp-asne1").find((w) => w.service.name === name)!;

  it("escrow serve accepts its args", async () => {
    const opts = await parseWithCli(program, byService("escrow").args);
    expect(opts).toMatchObject({ port: "8080", host: "0.0.0.0", config: "/etc/meridian/escrow/escrow.json", postgres: "$(MERIDIAN_POSTGRES_URL)" });
  });

  it("ratelimit serve accepts its args", async () => {
    const opts = await parseWithCli(program, byService("ratelimit").args);
    expect(opts).toMatchObject({ rules: "/etc/meridian/ratelimit/config.yaml", redis: "$(MERIDIAN_REDIS_URL)", region: "gcp-asne1", port: 8080, grpcPort: 8081 });
  });

  it("log serve accepts its args", async () => {
    const opts = await parseWithCli(program, byService("prooflog").args);
    expect(opts).toMatchObject({ origin: spec.runtime.prooflog.origin, key: "/etc/meridian/prooflog/signer/signer.key", postgres: "$(MERIDIAN_POSTGRES_URL)" });
  });

  it("ratelimit quota accepts its args", async () => {
    const opts = await parseWithCli(program, byService("quota").args);
    expect(opts).toMatchObject({ config: "/etc/meridian/quota/quota.json", postgres: "$(MERIDIAN_POSTGRES_URL)", port: 8080, host: "0.0.0.0" });
  });

  it("time serve accepts its args, synced to the region's grandmaster", async () => {
    expect(timeServe).toBe(true);
    const opts = await parseWithCli(program, byService("clock").args);
    expect(opts).toMatchObject({ region: "gcp-asne1", maxOffsetMs: spec.time.maxOffsetMs, grandmaster: "grandmaster.meridian-time.svc.cluster.local:123" });
  });

  it("the check fails on a flag the command does not have", async () => {
    await expect(parseWithCli(program, [...byService("escrow").args, "--no-such-flag"])).rejects.toBeInstanceOf(CommanderError);
  });
});
