// Each runtime Deployment in the prod plan carries the model's numbers for its region: the escrow
// allocation from model/escrow's formula, the rate limit as the real ratelimit config parser reads the
// ConfigMap, the HLC max offset, the log origin and witness set — recomputed here from the model's own
// modules, not from model/workloads, so a drift between what is deployed and the model fails.
import { serverConfigSchema } from "../../../runtime/kit/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { parseRateLimitConfig } from "../../../runtime/ratelimit/config/schema.js";
import { defineEscrowService } from "../../../runtime/escrow/index.js";
import { clockConfigSchema } from "../../../runtime/clock/service.js";
import { proofLogConfigSchema } from "../../../runtime/prooflog/config.js";
import { ratelimitConfigSchema } from "../../../runtime/ratelimit/service/service.js";
import { mapService } from "../../../runtime/vmap/services.js";
import { GRPC_METADATA_KEY, HTTP_HEADER } from "../../../runtime/clock/propagation.js";
import { escrowAllocations } from "../../../model/escrow/estate.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { RUNTIME_SERVICES, spiffeId } from "../../../model/services.js";
import { loadStack } from "../../../stacks/load.js";
import { under, type Plan, type RecordedResource } from "../../harness.js";

/** Escrow's serve schema: its config plus the serve-only keys (stores, the map it publishes to). */
const escrowServe = defineEscrowService().config;

/** A kit service's file: the kit's `server` section (validated here by its schema) and the service's own keys. */
function kitKeys(text: string): Record<string, unknown> {
  const { server, ...keys } = JSON.parse(text) as Record<string, unknown>;
  serverConfigSchema.parse(server);
  return keys;
}
import { prodPlan } from "./plan.js";
import { regionWorkloads } from "../../../model/workloads/spec.js";

interface Container {
  args: string[];
  env: { name: string; value?: string }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName: string;
  containers: Container[];
  volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string; defaultMode?: number } }[];
}
interface DeploymentInputs {
  metadata: { name: string };
  spec: { template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec } };
}

const flag = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const envOf = (c: Container) => Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

describe("prod plan: runtime config equals the model's numbers per region", () => {
  let plan: Plan;
  let spec: EstateSpec;
  const inRegion = (id: string) => under(plan, "meridian:workloads:RuntimeServices", `${id}-runtime`);
  const deploymentOf = (id: string, service: string) => {
    // A service with per-pod state runs as a StatefulSet; the pod template is the same shape.
    const d = inRegion(id).find(
      (r) => (r.type === "kubernetes:apps/v1:Deployment" && r.name === `${id}-${service}-deployment`) || (r.type === "kubernetes:apps/v1:StatefulSet" && r.name === `${id}-${service}-statefulset`),
    );
    if (!d) throw new Error(`no ${service} Deployment or StatefulSet in ${id}`);
    return d.inputs as unknown as DeploymentInputs;
  };
  const configFile = (id: string, service: string, file: string): string => {
    const cm = inRegion(id).find((r: RecordedResource) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === `${id}-${service}-config`);
    const data = (cm?.inputs as { data?: Record<string, string> } | undefined)?.data;
    if (!data?.[file]) throw new Error(`no ${file} in ${service}'s ConfigMap in ${id}`);
    return data[file];
  };
  /** The file a container path resolves to through its ConfigMap volume. */
  const mountedConfig = (id: string, service: string, path: string) => {
    const pod = deploymentOf(id, service).spec.template.spec;
    const mount = pod.containers[0]!.volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`))!;
    const volume = pod.volumes.find((v) => v.name === mount.name)!;
    expect(volume.configMap?.name).toBe(`${service}-config`);
    return configFile(id, service, path.slice(mount.mountPath.length + 1));
  };

  beforeAll(async () => {
    plan = await prodPlan();
    spec = buildEstateSpec("prod", loadStack("prod"));
  }, 120_000);

  it("deploys every catalogue service in every region, as its SPIFFE identity", () => {
    for (const region of spec.regions) {
      for (const s of regionWorkloads(spec, region.id).map((w) => w.service)) {
        const d = deploymentOf(region.id, s.name);
        expect(d.spec.template.spec.serviceAccountName).toBe(s.serviceAccount);
        expect(d.spec.template.metadata.labels["app.kubernetes.io/name"]).toBe(s.name);
        expect(d.spec.template.metadata.annotations["meridian.dev/spiffe-id"]).toBe(spiffeId(spec.pki.trustDomain, s));
      }
    }
  });

  it("escrow: serve reads the mounted config with the service's own schema; it serves its region with the model's allocation", () => {
    const allocations = escrowAllocations(spec);
    expect(allocations.length).toBeGreaterThan(0);
    for (const region of spec.regions) {
      const args = deploymentOf(region.id, "escrow").spec.template.spec.containers[0]!.args;
      expect(args.slice(0, 2)).toEqual(["escrow", "serve"]);
      const cfg = escrowServe.parse(kitKeys(mountedConfig(region.id, "escrow", flag(args, "--config")!)));
      expect(cfg.regions).toEqual([region.id]);
      expect(cfg.skus.map((s) => s.allocation)).toEqual(allocations.map((a) => a.regions));
      expect(cfg.reservationTtlSeconds).toBe(spec.runtime.escrow.reservationTtlSeconds);
      expect(cfg.leaseTtlSeconds).toBe(spec.runtime.escrow.leaseTtlSeconds);
    }
  });

  it("escrow: its transition log's signer key is the region's operator Secret, mounted read-only where transitionsKeyFile points", () => {
    for (const region of spec.regions) {
      const pod = deploymentOf(region.id, "escrow").spec.template.spec;
      const c = pod.containers[0]!;
      const cfg = escrowServe.parse(kitKeys(mountedConfig(region.id, "escrow", flag(c.args, "--config")!)));
      const keyFile = cfg.transitionsKeyFile!;
      expect(keyFile).toBe("/etc/meridian/escrow/transitions/signer.key");
      // The deepest mount holding the file (the ConfigMap's is its parent directory) is the Secret's volume.
      const mount = c.volumeMounts.filter((m) => keyFile.startsWith(`${m.mountPath}/`)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0]!;
      expect(mount).toMatchObject({ mountPath: "/etc/meridian/escrow/transitions", readOnly: true });
      expect(keyFile.slice(mount.mountPath.length + 1)).toBe("signer.key");
      const volume = pod.volumes.find((v) => v.name === mount.name)!;
      expect(volume.secret).toEqual({ secretName: "meridian-escrow-transitions-signer", defaultMode: 0o400 });
    }
  });

  it("escrow's peers are the other regions through the mesh: a Service per region in every cluster, selecting that region's escrow pods only", () => {
    for (const region of spec.regions) {
      const args = deploymentOf(region.id, "escrow").spec.template.spec.containers[0]!.args;
      const cfg = escrowServe.parse(kitKeys(mountedConfig(region.id, "escrow", flag(args, "--config")!)));
      const others = spec.regions.filter((r) => r.id !== region.id).map((r) => r.id);
      expect(Object.keys(cfg.peers).sort()).toEqual([...others].sort());
      for (const [peer, url] of Object.entries(cfg.peers)) {
        const host = new URL(url).hostname;
        expect(host).toBe(`escrow-${peer}.meridian.svc.cluster.local`);
        // The name resolves in this cluster (its Service is here too) and selects only the peer region's escrow pods.
        const svc = inRegion(region.id).find((r) => r.type === "kubernetes:core/v1:Service" && (r.inputs as { metadata: { name: string } }).metadata.name === `escrow-${peer}`);
        expect(svc, `${region.id}: escrow-${peer}`).toBeDefined();
        const selector = (svc!.inputs as { spec: { selector: Record<string, string> } }).spec.selector;
        expect(selector).toEqual({ "app.kubernetes.io/name": "escrow", "meridian.dev/region": peer });
        const peerPods = deploymentOf(peer, "escrow").spec.template.metadata.labels;
        expect(Object.entries(selector).every(([k, v]) => peerPods[k] === v)).toBe(true);
        const ownPods = deploymentOf(region.id, "escrow").spec.template.metadata.labels;
        expect(Object.entries(selector).every(([k, v]) => ownPods[k] === v)).toBe(false);
      }
    }
  });

  it("ratelimit: the mounted config parses with the service's own parser; the estate's limit is one global limit whose budgets every region takes from the allocator", () => {
    const { domain, requestsPerSecond } = spec.runtime.ratelimit;
    for (const region of spec.regions) {
      const args = deploymentOf(region.id, "ratelimit").spec.template.spec.containers[0]!.args;
      const service = ratelimitConfigSchema.parse(kitKeys(mountedConfig(region.id, "ratelimit", flag(args, "--config")!)));
      expect(service).toMatchObject({ region: region.id, instances: spec.runtime.replicas, maxOffsetMs: spec.time.maxOffsetMs });
      expect(service.globalAllocator).toMatchObject({ url: "http://allocator.meridian.svc.cluster.local:8080", failureMode: "local" });
      const [parsed] = parseRateLimitConfig(mountedConfig(region.id, "ratelimit", service.rules));
      expect(parsed!.domain).toBe(domain);
      const limit = parsed!.descriptors[0]!.rate_limit!;
      expect(limit).toMatchObject({ unit: "second", requests_per_unit: requestsPerSecond, global: true });
    }
  });

  it("clock: the HLC max offset, and every service propagates HLC headers to the region's clock", () => {
    for (const region of spec.regions) {
      const clock = deploymentOf(region.id, "clock").spec.template.spec.containers[0]!;
      const cfg = clockConfigSchema.parse(kitKeys(mountedConfig(region.id, "clock", flag(clock.args, "--config")!)));
      expect(cfg).toMatchObject({ region: region.id, maxOffsetMs: spec.time.maxOffsetMs, degradeFraction: spec.time.skew.degradeFraction, freezeFraction: spec.time.skew.freezeFraction });
      // The HLC's persisted upper bound lives on the pod's own claim, which outlives the pod (not an emptyDir).
      const set = inRegion(region.id).find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && r.name === `${region.id}-clock-statefulset`)!.inputs as unknown as {
        spec: { volumeClaimTemplates: { metadata: { name: string }; spec: { accessModes: string[] } }[]; template: { spec: PodSpec } };
      };
      expect(set.spec.volumeClaimTemplates.map((c) => [c.metadata.name, c.spec.accessModes])).toEqual([["state", ["ReadWriteOnce"]]]);
      expect(clock.volumeMounts).toContainEqual({ name: "state", mountPath: cfg.dataDir });
      expect(set.spec.template.spec.volumes.map((v) => v.name)).not.toContain("state");
      const hpa = inRegion(region.id).find((r) => r.name === `${region.id}-clock-hpa`)!.inputs as unknown as { spec: { scaleTargetRef: { kind: string; name: string } } };
      expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "StatefulSet", name: "clock" });
      for (const s of regionWorkloads(spec, region.id).map((w) => w.service)) {
        const env = envOf(deploymentOf(region.id, s.name).spec.template.spec.containers[0]!);
        expect(env).toMatchObject({
          MERIDIAN_REGION: region.id,
          MERIDIAN_HLC_HTTP_HEADER: HTTP_HEADER,
          MERIDIAN_HLC_GRPC_METADATA: GRPC_METADATA_KEY,
          MERIDIAN_HLC_MAX_OFFSET_MS: String(spec.time.maxOffsetMs),
          MERIDIAN_HLC_REQUIRE_EPOCH: String(spec.time.gateway.requireEpoch),
          MERIDIAN_CLOCK_URL: "http://clock.meridian.svc.cluster.local:8080",
        });
      }
    }
  });

  it("prooflog: the estate's one origin and witness set in every region, over the ledger primary", () => {
    const witnesses = spec.runtime.prooflog.witnesses.map((w) => (typeof w === "string" ? w : w.name));
    for (const region of spec.regions) {
      const args = deploymentOf(region.id, "prooflog").spec.template.spec.containers[0]!.args;
      expect(flag(args, "--postgres")).toBe("$(MERIDIAN_POSTGRES_URL)");
      const { server: _server, ...keys } = JSON.parse(mountedConfig(region.id, "prooflog", flag(args, "--config")!)) as Record<string, unknown>;
      const cfg = proofLogConfigSchema.parse(keys);
      expect(cfg.origin).toBe(spec.runtime.prooflog.origin);
      expect(cfg.witnesses.map((w) => w.name)).toEqual(witnesses);
      expect(cfg.sequencerRegion).toBe(spec.replication.writers[0]);
      // One sequencer: a pod only in the ledger region, never two at once, and no autoscaler to add one.
      const deploy = deploymentOf(region.id, "prooflog") as unknown as { spec: { replicas: number; strategy: { type: string } } };
      expect(deploy.spec.replicas).toBe(region.id === spec.replication.writers[0] ? 1 : 0);
      expect(deploy.spec.strategy.type).toBe("Recreate");
      const hpas = inRegion(region.id)
        .filter((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
        .map((r) => r.name)
        .sort();
      expect(hpas).toEqual(["clock", "ratelimit"].map((s) => `${region.id}-${s}-hpa`)); // escrow: one pod per region
    }
  });

  it("map: prod has no quota tenants but escrow sells, so one map pod runs in the ledger region and every region's escrow publishes to it", () => {
    expect(spec.runtime.quota.tenants).toEqual([]);
    for (const region of spec.regions) {
      const deploy = deploymentOf(region.id, "map") as unknown as DeploymentInputs & { spec: { replicas: number; strategy: { type: string } } };
      expect(deploy.spec.replicas).toBe(region.id === spec.replication.writers[0] ? 1 : 0);
      expect(deploy.spec.strategy.type).toBe("Recreate");
      const args = deploy.spec.template.spec.containers[0]!.args;
      expect(args.slice(0, 2)).toEqual(["map", "serve"]);
      expect(flag(args, "--postgres")).toBe("$(MERIDIAN_POSTGRES_URL)");
      const cfg = mapService.config.parse({ ...kitKeys(mountedConfig(region.id, "map", flag(args, "--config")!)), store: { postgres: "postgresql://from-the-flag/meridian" } });
      expect(cfg.writers?.["escrow"]).toEqual({
        spiffe: [
          spiffeId(
            spec.pki.trustDomain,
            RUNTIME_SERVICES.find((s) => s.name === "escrow")!,
          ),
        ],
      });
      const escrowArgs = deploymentOf(region.id, "escrow").spec.template.spec.containers[0]!.args;
      const escrow = JSON.parse(mountedConfig(region.id, "escrow", flag(escrowArgs, "--config")!)) as { map?: string; mapName?: string };
      expect(escrow).toMatchObject({ map: "http://map.meridian.svc.cluster.local:8080", mapName: "escrow" });
      expect(cfg.maps).toContain(escrow.mapName);
    }
  });

  it("store endpoints: the ledger primary's host and the region's own managed Redis", () => {
    for (const region of spec.regions) {
      const objects = inRegion(region.id);
      const endpoints = objects.find((r) => r.name === `${region.id}-meridian-endpoints`)!.inputs as { data: Record<string, string> };
      expect(endpoints.data["postgres-database"]).toBe("meridian");
      expect(endpoints.data["postgres-port"]).toBe("5432");
      const caches = objects.filter((r) => /elasticache|redis/.test(r.type) && r.custom);
      expect(caches).toHaveLength(1);
      expect(caches[0]!.type).toBe({ aws: "aws:elasticache/replicationGroup:ReplicationGroup", gcp: "gcp:redis/instance:Instance", azure: "azure-native:redis:Redis" }[region.cloud]);
    }
  });
});
