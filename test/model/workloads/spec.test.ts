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
import { serverConfigSchema } from "../../../runtime/kit/index.js";
import { quotaServiceConfig } from "../../../runtime/quota/service.js";
import { attestService } from "../../../runtime/attest/index.js";
import { allocatorService } from "../../../runtime/ratelimit/global/server.js";
import { mapService } from "../../../runtime/vmap/service.js";
import { monitorService } from "../../../runtime/prooflog/monitor/service.js";
import { parsePolicy } from "../../../runtime/prooflog/policy.js";
import { ALG_COSIGNATURE_V1, generateKey } from "../../../runtime/prooflog/note.js";
import { HTTP_PORT, regionWorkloads, STATE_DIR, workloadSpec, type WorkloadSpec } from "../../../model/workloads/spec.js";
import { TIME_AGENT_ADDRESS } from "../../../model/time/hierarchy.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { defineEscrowService, parseEscrowConfig } from "../../../runtime/escrow/index.js";
import { clockConfigSchema } from "../../../runtime/clock/service.js";
import { proofLogConfigSchema } from "../../../runtime/prooflog/config.js";
import { parseRateLimitConfig } from "../../../runtime/ratelimit/config/schema.js";

/** A kit service's own keys of its rendered config file: the kit takes `server` (serverConfigSchema) before the service's schema. */
function serviceKeys(text: string): Record<string, unknown> {
  const { server: _server, ...keys } = JSON.parse(text) as Record<string, unknown>;
  return keys;
}
import { ratelimitConfigSchema } from "../../../runtime/ratelimit/service/service.js";

const prod = (): EstateSpec => buildEstateSpec("prod", parseEstateConfig(readStackConfigMap("prod"), "prod"));

async function cliProgram(): Promise<Command> {
  const program = new Command("meridian").exitOverride();
  const dir = fileURLToPath(new URL("../../../cli/commands/", import.meta.url));
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .sort()) {
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
      // A witness only where the stack deploys one (prod: one each in aws-euw1, gcp-asne1 and azure-weu).
      const witnessed = ["aws-euw1", "gcp-asne1", "azure-weu"].includes(region.id);
      expect(ws.map((w) => w.service.name)).toEqual(RUNTIME_SERVICES.map((s) => s.name).filter((n) => n !== "witness" || witnessed));
      for (const w of ws.filter((x) => !["prooflog", "escrow", "quota", "attest", "map", "allocator", "monitor", "witness", "certchain"].includes(x.service.name))) {
        expect(w.image).toBe(spec.runtime.image);
        expect(w.replicas).toBe(spec.runtime.replicas);
        expect(w.strategy).toBe("RollingUpdate");
        expect(w.autoscaling!.minReplicas).toBe(spec.runtime.replicas);
        expect(w.autoscaling!.maxReplicas).toBeGreaterThan(w.autoscaling!.minReplicas);
        expect(w.maxUnavailable).toBeLessThan(w.autoscaling!.minReplicas);
      }
    }
  });

  it("runs the global allocator in the ledger region only (the stack's replicas, no autoscaler, budgets in its Redis); every region's rate limit services take their global limits from it", () => {
    const spec = prod();
    const ws = spec.regions.map((r) => regionWorkloads(spec, r.id).find((w) => w.service.name === "allocator")!);
    expect(ws.filter((w) => w.replicas > 0).map((w) => [w.region, w.replicas])).toEqual([[spec.replication.writers[0], spec.runtime.replicas]]);
    for (const w of ws) {
      expect(w).toMatchObject({ autoscaling: null, strategy: "RollingUpdate", stores: { redis: true, postgres: false } });
      expect(w.args).toEqual(expect.arrayContaining(["ratelimit", "allocator", "--redis", "$(MERIDIAN_REDIS_URL)"]));
    }
    for (const region of spec.regions) {
      const rl = regionWorkloads(spec, region.id).find((w) => w.service.name === "ratelimit")!;
      const cfg = JSON.parse(rl.config["ratelimit.json"]!) as { globalAllocator: { url: string; failureMode: string; instances: number } };
      expect(cfg.globalAllocator).toEqual({ url: "http://allocator.meridian.svc.cluster.local:8080", failureMode: "local", instances: spec.regions.length * spec.runtime.replicas * 4 });
      expect(rl.config["config.yaml"]).toMatch(/global: true/);
    }
  });

  it("runs one proof log monitor per region, following the log under its deployed key and witness policy, gossiping with every other region's; none without the log's verifier key", () => {
    const spec = prod();
    const vkey = spec.runtime.prooflog.verifierKey!;
    expect(vkey.startsWith(`${spec.runtime.prooflog.origin}+`)).toBe(true);
    const witness = { name: "witness-d", url: "https://witness-d.example", vkey: generateKey("witness-d", ALG_COSIGNATURE_V1).verifierKey };
    spec.runtime.prooflog.witnesses = ["witness-a", witness];
    delete spec.runtime.prooflog.witnessThreshold;
    for (const region of spec.regions) {
      const w = regionWorkloads(spec, region.id).find((x) => x.service.name === "monitor")!;
      expect(w).toMatchObject({ replicas: 1, autoscaling: null, strategy: "Recreate", stores: { redis: false, postgres: false } });
      expect(w.args.slice(0, 2)).toEqual(["log", "monitor"]);
      expect(w.alerts.map((a) => a.alert)).toEqual(["MeridianProofLogEquivocation", "MeridianProofLogCheckpointStale"]);
      const cfg = monitorService.config.parse(serviceKeys(w.config["monitor.json"]!)) as {
        log: string;
        policy: string;
        peers: string[];
        threshold?: unknown;
      };
      expect(cfg.log).toBe("http://prooflog.meridian.svc.cluster.local:8080");
      // The log's key, the cosigning witness (its URL: the monitor reads its monitoring endpoint), no cosignature quorum.
      const policy = parsePolicy(cfg.policy);
      expect(policy.logs.map((l) => l.verifier.name)).toEqual([spec.runtime.prooflog.origin]);
      expect(cfg.policy).toContain(`log ${vkey}\n`);
      expect([...policy.witnesses.entries()].map(([n, x]) => [n, x.url])).toEqual([["witness-d", "https://witness-d.example"]]);
      expect(policy.quorum).toBe("none");
      expect(cfg.threshold).toBeUndefined();
      expect(cfg.peers.sort()).toEqual(
        spec.regions
          .filter((r) => r.id !== region.id)
          .map((r) => `http://monitor-${r.id}.meridian.svc.cluster.local:8080`)
          .sort(),
      );
    }
    const without = prod();
    delete without.runtime.prooflog.verifierKey;
    expect(regionWorkloads(without, "aws-use1").map((w) => w.service.name)).not.toContain("monitor");
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
    const withTenants = {
      ...spec,
      runtime: {
        ...spec.runtime,
        quota: {
          authorities: ["root"],
          tenants: [{ id: "acme", owners: ["a"], hard: { cpu: 4, memory: 8 }, container: { defaultRequest: { cpu: 0.1, memory: 0.125 }, default: { cpu: 0.5, memory: 0.5 } } }],
        },
      },
    };
    expect(
      quota(withTenants)
        .filter((w) => w.replicas > 0)
        .map((w) => [w.region, w.replicas]),
    ).toEqual([[spec.replication.writers[0], 1]]);
    expect(JSON.parse(quota(withTenants)[0]!.config["quota.json"]!)).toMatchObject({
      schema: "meridian_quota",
      authorities: ["root"],
      tenants: [{ id: "acme", hard: { cpu: 4, memory: 8 } }],
      map: "http://map.meridian.svc.cluster.local:8080",
    });
    // Its clock is measured by its node's chrony through the node time agent, with the estate's max offset, as every service's.
    for (const w of quota(withTenants)) expect(JSON.parse(w.config["quota.json"]!)).toMatchObject({ maxOffsetMs: spec.time.maxOffsetMs, timeReference: { agent: TIME_AGENT_ADDRESS } });
  });

  it("runs the map as one writer whenever one of its writers publishes (escrow selling, quota's tenants), and none when neither does", () => {
    const spec = prod();
    expect(spec.runtime.quota.tenants).toEqual([]); // prod: escrow sells, no tenants
    expect(Object.keys(spec.runtime.escrow.inventory).length).toBeGreaterThan(0);
    const tenants = [{ id: "acme", owners: ["a"], hard: { cpu: 4, memory: 8 }, container: { defaultRequest: { cpu: 0.1, memory: 0.125 }, default: { cpu: 0.5, memory: 0.5 } } }];
    const withTenants = { ...spec, runtime: { ...spec.runtime, quota: { authorities: ["root"], tenants } } };
    const noSkus = (s: EstateSpec): EstateSpec => ({ ...s, runtime: { ...s.runtime, escrow: { ...s.runtime.escrow, inventory: {}, sales: {} } } });
    const map = (s: EstateSpec) => s.regions.map((r) => regionWorkloads(s, r.id).find((w) => w.service.name === "map")!);
    const escrowJson = (s: EstateSpec, region: string) => JSON.parse(regionWorkloads(s, region).find((x) => x.service.name === "escrow")!.config["escrow.json"]!) as { map?: string; mapName?: string };
    // Escrow alone (prod), quota alone, both: one writer pod in the ledger region, on its PostgreSQL, recording roots in
    // the in-cluster log, each map writable by its own writer's SPIFFE ID alone; every region's escrow publishes there.
    for (const s of [spec, noSkus(withTenants), withTenants]) {
      const maps = map(s);
      expect(maps.filter((w) => w.replicas > 0).map((w) => [w.region, w.replicas])).toEqual([[spec.replication.writers[0], 1]]);
      for (const w of maps) {
        expect(w).toMatchObject({ autoscaling: null, strategy: "Recreate", stores: { postgres: true, redis: false } });
        expect(w.args).toEqual(expect.arrayContaining(["--postgres", "$(MERIDIAN_POSTGRES_URL)"]));
        expect(JSON.parse(w.config["map.json"]!)).toMatchObject({
          maps: ["quota", "escrow"],
          log: "http://prooflog.meridian.svc.cluster.local:8080",
          writers: { quota: { spiffe: [`spiffe://${spec.pki.trustDomain}/ns/meridian/sa/quota`] }, escrow: { spiffe: [`spiffe://${spec.pki.trustDomain}/ns/meridian/sa/escrow`] } },
        });
        expect(escrowJson(s, w.region)).toMatchObject({ map: "http://map.meridian.svc.cluster.local:8080", mapName: "escrow" });
      }
    }
    // Neither writer has anything to publish: no map pod, and escrow is not pointed at one.
    const idle = noSkus(spec);
    expect(map(idle).every((w) => w.replicas === 0)).toBe(true);
    for (const r of idle.regions) expect(escrowJson(idle, r.id).map).toBeUndefined();
  });

  it("runs one escrow pod per region: it holds the region's lease and open reservations in memory", () => {
    const spec = prod();
    for (const region of spec.regions) {
      const w = regionWorkloads(spec, region.id).find((x) => x.service.name === "escrow")!;
      expect(w).toMatchObject({ replicas: 1, autoscaling: null, strategy: "Recreate" });
    }
  });

  it("runs one attestation verifier per region: nonces in memory, one registry lock per region's schema", () => {
    const spec = prod();
    const schemas = new Set<string>();
    for (const region of spec.regions) {
      const w = regionWorkloads(spec, region.id).find((x) => x.service.name === "attest")!;
      expect(w).toMatchObject({ replicas: 1, autoscaling: null, strategy: "Recreate", stores: { postgres: true, redis: false } });
      expect(w.args.slice(0, 2)).toEqual(["attest", "serve"]);
      expect(w.args[w.args.indexOf("--postgres") + 1]).toBe("$(MERIDIAN_POSTGRES_URL)");
      expect(w.secretMounts).toEqual([{ secret: "meridian-attest-signer", mountPath: "/etc/meridian/attest/signer" }]);
      const cfg = JSON.parse(w.config["attest.json"]!) as { key: string; log: string; store: { schema: string }; spire: { trustDomain: string } };
      expect(cfg.key).toBe("/etc/meridian/attest/signer/signer.key");
      expect(cfg.log).toBe("http://prooflog.meridian.svc.cluster.local:8080");
      expect(cfg.spire.trustDomain).toBe(spec.pki.trustDomain);
      schemas.add(cfg.store.schema);
    }
    // Every region's verifier shares the ledger database, so each needs its own schema (and advisory lock).
    expect(schemas.size).toBe(spec.regions.length);
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

  it("every serve reads its mounted config file, and the service's own zod schema accepts it as rendered", () => {
    const spec = prod();
    const vkey = "witness-d+0a1b2c3d+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    spec.runtime.prooflog.witnesses = ["witness-a", { name: "witness-d", url: "https://witness-d.example", vkey }];
    // With a tenant, so quota and the map run and escrow's file names the map it publishes to.
    spec.runtime.quota = {
      authorities: ["root"],
      tenants: [{ id: "acme", owners: ["a"], hard: { cpu: 4, memory: 8 }, container: { defaultRequest: { cpu: 0.1, memory: 0.125 }, default: { cpu: 0.5, memory: 0.5 } } }],
    };
    const schemas: Record<string, (doc: unknown) => unknown> = {
      // `escrow serve`'s schema: the escrow config plus the map it publishes to; the PostgreSQL URL comes from --postgres.
      escrow: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server);
        // The pure escrow config, without serve's own keys (the map it publishes to, the store's replication precondition,
        // the transition log's signer key file).
        const serveOnly = (k: string) => k.startsWith("map") || k === "acceptAsyncStandbys" || k === "transitionsKeyFile";
        parseEscrowConfig(Object.fromEntries(Object.entries(keys).filter(([k]) => !serveOnly(k))));
        return defineEscrowService().config.parse({ ...keys, postgres: "postgresql://from-the-postgres-flag:5432/meridian" });
      },
      // The kit's `server` section beside the service's keys (identity behind the sidecar: model/security/mesh-identity.ts).
      ratelimit: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server);
        return ratelimitConfigSchema.parse(keys);
      },
      // The kit's `server` section (identity behind the sidecar) beside the log's keys.
      prooflog: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server);
        return proofLogConfigSchema.parse(keys);
      },
      clock: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server);
        return clockConfigSchema.parse(keys);
      },
      // The kit's `server` section beside the service's keys; the store's URL comes from --postgres, merged over the file.
      attest: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server);
        const store = { ...(keys["store"] as object), postgres: "postgresql://from-the-postgres-flag:5432/meridian" };
        return attestService.config.parse({ ...keys, store });
      },
      // The kit's `server` section beside the service's keys; the PostgreSQL URL comes from --postgres (a secret).
      quota: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server ?? {});
        return quotaServiceConfig.parse({ ...keys, postgres: "postgresql://from-the-postgres-flag:5432/meridian" });
      },
      // The kit's `server` section beside the allocator's keys; --redis (a secret) puts its budgets in Redis.
      allocator: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server);
        return allocatorService.config.parse({ ...keys, redis: "redis://from-the-redis-flag:6379/0" });
      },
      // The kit's `server` section beside the monitor's keys; it has no store and no secret.
      monitor: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server);
        return monitorService.config.parse(keys);
      },
      // Likewise; the store is the PostgreSQL URL of --postgres.
      map: (doc) => {
        const { server, ...keys } = doc as Record<string, unknown>;
        serverConfigSchema.parse(server);
        return mapService.config.parse({ ...keys, store: { postgres: "postgresql://from-the-postgres-flag:5432/meridian" } });
      },
    };
    for (const region of spec.regions) {
      for (const w of regionWorkloads(spec, region.id)) {
        const path = w.args[w.args.indexOf("--config") + 1]!;
        expect(w.args.indexOf("--config"), `${w.service.name} passes --config`).toBeGreaterThan(1);
        expect(path.startsWith(`/etc/meridian/${w.service.name}/`)).toBe(true);
        const text = w.config[path.slice(`/etc/meridian/${w.service.name}/`.length)];
        expect(text, `${w.service.name}: ${path} is in its ConfigMap`).toBeDefined();
        // JSON as rendered: the schema sees exactly the file (strict schemas refuse unknown keys).
        expect(() => schemas[w.service.name]!(JSON.parse(text!)), `${w.service.name} in ${region.id}`).not.toThrow();
        // Settings live in the file only: args are the listen address, store URLs and secret paths.
        const flags = w.args.filter((a) => a.startsWith("--"));
        expect(
          flags.filter((f) => !["--config", "--port", "--host", "--postgres", "--redis", "--key"].includes(f)),
          w.service.name,
        ).toEqual([]);
      }
    }
    const log = workloadSpec(
      spec,
      "aws-use1",
      RUNTIME_SERVICES.find((s) => s.name === "prooflog")!,
    );
    // The log's checkpoints commit-wait on a clock measured by its node's chrony (the node time agent).
    const { server: _server, ...logKeys } = JSON.parse(log.config["prooflog.json"]!) as Record<string, unknown>;
    expect(proofLogConfigSchema.parse(logKeys)).toMatchObject({
      maxOffsetMs: spec.time.maxOffsetMs,
      timeReference: { agent: { host: "time-agent.meridian-time.svc.cluster.local", port: 10125 } },
    });
    expect(proofLogConfigSchema.parse(logKeys).witnesses).toEqual([{ name: "witness-a" }, { name: "witness-d", url: "https://witness-d.example", vkey }]);
    const rl = workloadSpec(
      spec,
      "aws-use1",
      RUNTIME_SERVICES.find((s) => s.name === "ratelimit")!,
    );
    const rules = ratelimitConfigSchema.parse(serviceKeys(rl.config["ratelimit.json"]!)).rules;
    expect(parseRateLimitConfig(rl.config[rules.slice("/etc/meridian/ratelimit/".length)]!)[0]!.domain).toBe(spec.runtime.ratelimit.domain);
  });

  it("probes the kit's /readyz for the kit services whose readiness means something (clock: strong path, ε, jumps)", () => {
    const byName = new Map(regionWorkloads(prod(), "aws-use1").map((w) => [w.service.name, w.readiness]));
    expect(byName.get("clock")).toEqual({ kind: "http", path: "/readyz", port: HTTP_PORT });
    expect(byName.get("ratelimit")).toEqual({ kind: "http", path: "/readyz", port: HTTP_PORT });
    expect(byName.get("escrow")).toEqual({ kind: "http", path: "/readyz", port: HTTP_PORT });
  });

  it("per-pod state only where a restart must remember: the clock's HLC upper bound, the log monitor's evidence and checkpoint, the certificate chain", () => {
    const ws = regionWorkloads(prod(), "aws-use1");
    expect(ws.filter((w) => w.state).map((w) => w.service.name)).toEqual(["clock", "monitor", "certchain"]);
    expect(JSON.parse(ws.find((w) => w.service.name === "certchain")!.config["certchain.json"]!)).toMatchObject({ data: `${STATE_DIR}/certchain` });
    const clock = ws.find((w) => w.service.name === "clock")!;
    expect(clockConfigSchema.parse(serviceKeys(clock.config["clock.json"]!)).dataDir).toBe(`${STATE_DIR}/clock`);
    const monitor = ws.find((w) => w.service.name === "monitor")!;
    expect(JSON.parse(monitor.config["monitor.json"]!)).toMatchObject({ stateFile: `${STATE_DIR}/monitor/state.json` });
  });

  it("the clock's gateway bound and HLC reset threshold reach clock.json from meridian:time.gateway", () => {
    const spec = prod();
    const rendered = (s: typeof spec) => clockConfigSchema.parse(serviceKeys(regionWorkloads(s, "aws-use1").find((w) => w.service.name === "clock")!.config["clock.json"]!));
    // prod refuses epoch-less HLC timestamps (stacks/Pulumi.prod.yaml); the schema's default accepts them.
    expect(rendered(spec)).toMatchObject({ maxUncertaintyMs: 1000, resetMinLeadMs: spec.time.maxOffsetMs, requireEpoch: true });
    spec.time.gateway = { maxUncertaintyMs: 2500, resetMinLeadMs: 4000, requireEpoch: false };
    expect(rendered(spec)).toMatchObject({ maxUncertaintyMs: 2500, resetMinLeadMs: 4000, requireEpoch: false });
  });

  it("the schemas refuse a config that drifts from them (the check can fail)", () => {
    const clock = regionWorkloads(prod(), "aws-use1").find((w) => w.service.name === "clock")!;
    expect(() => clockConfigSchema.parse({ ...serviceKeys(clock.config["clock.json"]!), skewThresholds: 1 })).toThrow(/skewThresholds/);
    expect(() => proofLogConfigSchema.parse({ origin: "o", witnesses: [{ name: "w", url: "https://w" }] })).toThrow(/both url and vkey/);
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
    expect(opts).toMatchObject({ config: "/etc/meridian/ratelimit/ratelimit.json", redis: "$(MERIDIAN_REDIS_URL)", port: 8080, host: "0.0.0.0" });
  });

  it("log serve accepts its args", async () => {
    const opts = await parseWithCli(program, byService("prooflog").args);
    expect(opts).toMatchObject({ config: "/etc/meridian/prooflog/prooflog.json", key: "/etc/meridian/prooflog/signer/signer.key", postgres: "$(MERIDIAN_POSTGRES_URL)" });
  });

  it("ratelimit quota accepts its args", async () => {
    const opts = await parseWithCli(program, byService("quota").args);
    expect(opts).toMatchObject({ config: "/etc/meridian/quota/quota.json", postgres: "$(MERIDIAN_POSTGRES_URL)", port: 8080, host: "0.0.0.0" });
  });

  it("map serve accepts its args", async () => {
    const opts = await parseWithCli(program, byService("map").args);
    expect(opts).toMatchObject({ config: "/etc/meridian/map/map.json", postgres: "$(MERIDIAN_POSTGRES_URL)", port: "8080", host: "0.0.0.0" });
  });

  it("time serve accepts its args; its node's time agent is in its config", async () => {
    expect(timeServe).toBe(true);
    const opts = await parseWithCli(program, byService("clock").args);
    expect(opts).toMatchObject({ config: "/etc/meridian/clock/clock.json", port: 8080, host: "0.0.0.0" });
    expect(clockConfigSchema.parse(serviceKeys(byService("clock").config["clock.json"]!))).toMatchObject({
      region: "gcp-asne1",
      maxOffsetMs: spec.time.maxOffsetMs,
      agent: { host: "time-agent.meridian-time.svc.cluster.local", port: 10125 },
    });
  });

  it("log monitor accepts its args", async () => {
    expect(await parseWithCli(program, byService("monitor").args)).toMatchObject({ config: "/etc/meridian/monitor/monitor.json", port: "8080", host: "0.0.0.0" });
  });

  it("the check fails on a flag the command does not have", async () => {
    await expect(parseWithCli(program, [...byService("escrow").args, "--no-such-flag"])).rejects.toBeInstanceOf(CommanderError);
  });
});
