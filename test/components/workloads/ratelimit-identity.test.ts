// Each region's rate limiter has its own identity (docs/ratelimit.md, "Who a client is"): in the prod plan every region
// renders its own ServiceAccount for the rate limit service, its Deployment runs as it, SPIRE grants that account its
// own SPIFFE ID, the allocator's rendered `callers` lists exactly those IDs and the mesh admits each of them to the
// allocator (and to the clock and the other limiters). Run from its rendered config, the allocator then holds a
// region's budget under that region's ID: another region's limiter naming the same client reaches only its own share.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan, RecordedResource } from "../../harness.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { startService } from "../../../runtime/kit/index.js";
import { allocatorService } from "../../../runtime/ratelimit/global/server.js";
import { prodPlan } from "./plan.js";

const SA = "kubernetes:core/v1:ServiceAccount";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";

type Meta = { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const meta = (r: RecordedResource) => (r.inputs as { metadata: Meta }).metadata;
const kind = (r: RecordedResource) => (r.inputs as { kind?: string }).kind;

let plan: Plan;
let regions: string[];
/** Region → the rate limit service's ServiceAccount there. */
const accounts = new Map<string, RecordedResource>();
beforeAll(async () => {
  plan = await prodPlan();
  const deployments = plan.resources.filter((r) => r.type === DEPLOYMENT && r.name.endsWith("-ratelimit-deployment"));
  regions = deployments.map((d) => d.name.slice(0, -"-ratelimit-deployment".length));
  for (const region of regions)
    accounts.set(
      region,
      plan.resources.find((r) => r.type === SA && r.name === `${region}-ratelimit-serviceaccount`)!,
    );
}, 180_000);

const spiffeOf = (region: string) => meta(accounts.get(region)!).annotations!["meridian.dev/spiffe-id"]!;

describe("prod plan: one identity per regional rate limiter", () => {
  it("every region renders its own ServiceAccount, its pods run as it, and no two regions share a SPIFFE ID", () => {
    expect(regions.length).toBeGreaterThanOrEqual(2);
    for (const region of regions) {
      const account = accounts.get(region);
      expect(account, region).toBeDefined();
      const name = meta(account!).name;
      expect(spiffeOf(region)).toBe(`spiffe://${spiffeOf(region).split("/")[2]}/ns/${meta(account!).namespace}/sa/${name}`);
      const deployment = plan.resources.find((r) => r.type === DEPLOYMENT && r.name === `${region}-ratelimit-deployment`)!;
      const pod = (deployment.inputs as { spec: { template: { metadata: Meta; spec: { serviceAccountName: string } } } }).spec.template;
      expect(pod.spec.serviceAccountName).toBe(name);
      expect(pod.metadata.annotations!["meridian.dev/spiffe-id"]).toBe(spiffeOf(region));
    }
    expect(new Set(regions.map(spiffeOf)).size).toBe(regions.length);
  });

  it("SPIRE grants each region's account its ID: the region's registration selects that account", () => {
    for (const region of regions) {
      const entry = plan.resources.find((r) => r.name === `${region}-spiffeid-ratelimit`);
      expect(entry, region).toBeDefined();
      const spec = (entry!.inputs as { spec: { workloadSelectorTemplates?: string[]; selectors?: string[] } }).spec;
      expect([...(spec.workloadSelectorTemplates ?? []), ...(spec.selectors ?? [])]).toContain(`k8s:sa:${meta(accounts.get(region)!).name}`);
    }
  });

  it("the allocator's rendered callers are exactly the regions' limiters, and the mesh admits each to the allocator, the clock and the limiters", () => {
    const allocatorConfigs = plan.resources.filter((r) => r.type === CONFIGMAP && r.name.endsWith("-allocator-config"));
    expect(allocatorConfigs.length).toBeGreaterThan(0);
    for (const cm of allocatorConfigs) {
      const cfg = JSON.parse((cm.inputs as { data: Record<string, string> }).data["allocator.json"]!) as { callers: string[] };
      expect([...cfg.callers].sort()).toEqual(regions.map(spiffeOf).sort());
    }
    for (const service of ["allocator", "clock", "ratelimit"]) {
      const policies = plan.resources.filter((r) => kind(r) === "AuthorizationPolicy" && meta(r).name === `${service}-callers`);
      expect(policies.length, service).toBe(regions.length);
      for (const p of policies) {
        const principals = (p.inputs as { spec: { rules: { from: { source: { principals: string[] } }[] }[] } }).spec.rules.flatMap((r) => r.from.flatMap((f) => f.source.principals));
        for (const region of regions) expect(principals, `${p.name} admits ${region}'s limiter`).toContain(spiffeOf(region).replace(/^spiffe:\/\//, ""));
      }
    }
  });

  it("the allocator from its rendered config holds each region's budget under that region's ID: another region naming the same client cannot take it over", async () => {
    const cm = plan.resources.find((r) => r.type === CONFIGMAP && r.name.endsWith("-allocator-config"))!;
    const rendered = JSON.parse((cm.inputs as { data: Record<string, string> }).data["allocator.json"]!) as Record<string, unknown> & { server: { identity: { spiffeId: string } } };
    // Its budgets in this process (the rendered store is the ledger region's Redis, a pod's secret URL); callers and identity as rendered.
    const { store: _store, redisCluster: _cluster, redisTls: _tls, redisAuth: _auth, ...config } = rendered;
    const allocator = await startService(allocatorService, { ...config, server: { ...rendered.server, port: 0 } }, { clock: new ManualClock(0), processMetrics: false });
    const [a, b] = [regions[0]!, regions[1]!];
    const window = 0;
    const ask = async (region: string, client: string, wants: number, keep?: number) => {
      const r = await fetch(`${allocator.url}/v1/allocator/budget`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-forwarded-client-cert": `By=${rendered.server.identity.spiffeId};Hash=${"0".repeat(64)};Subject="";URI=${spiffeOf(region)}`,
        },
        body: JSON.stringify({ resource: "estate", limit: 10, periodMs: 60_000, client, window, used: 0, wants, ...(keep === undefined ? {} : { keep }) }),
      });
      expect(r.status).toBe(200);
      return ((await r.json()) as { has: number }).has;
    };
    try {
      const client = `${a}/rl-0/1`;
      expect(await ask(a, client, 8)).toBe(8);
      // b's limiter names a's client, hands its budget back (keep 0) and asks for all of it: it gets only what is free.
      expect(await ask(b, client, 10, 0)).toBe(2);
      // a's 8 are still a's.
      expect(await ask(a, client, 0)).toBe(8);
    } finally {
      await allocator.close();
    }
  });
});
