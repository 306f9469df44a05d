// One rule set, one table, two runners: every case goes through `meridian plan`'s evaluator and through
// the real pack under the engine's launcher (Configure, Analyze per resource, AnalyzeStack), and both
// must report exactly the expected violations — same policy, level, resource and message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedResource } from "../../components/preview/mock-runtime.js";
import { buildEstateSpec } from "../../model/estate.js";
import { withUnknowns } from "../../model/resources.js";
import { buildPolicyPack, POLICIES_DIR } from "../../policies/build.js";
import { evaluatePolicies } from "../../policies/evaluate.js";
import { modelFromResources } from "../../policies/model-source.js";
import { rules } from "../../policies/rules/index.js";
import { loadStack } from "../../stacks/load.js";
import type { EstateConfig } from "../../model/config/index.js";
import { Engine } from "./engine.js";

const C = "(computed)";
const res = (type: string, name: string, inputs: Record<string, unknown>): RecordedResource => ({
  urn: `urn:pulumi:prod::meridian::${type}::${name}`,
  type,
  name,
  parent: null,
  provider: null,
  custom: true,
  inputs,
  dependencies: [],
});

/** A pushed image's digest, real egress addresses and Azure IDs: the shipped placeholders are cases of their own. */
const pinned = (c: EstateConfig): EstateConfig => ({
  ...c,
  imageDigests: Object.fromEntries(Object.keys(c.imageDigests).map((k) => [k, `sha256:${"ab".repeat(32)}`])),
  regions: c.regions.map((r, i) => ({ ...r, mesh: { ...r.mesh, egress: [`34.120.7.${i + 1}/32`] } })),
  replication: realAzureIds(c.replication),
  runtime: realAzureIds({ ...c.runtime, image: `ghcr.io/meridian/runtime@sha256:${"ab".repeat(32)}` }),
});
function realAzureIds<T>(value: T): T {
  const ids = JSON.stringify(value).replaceAll("00000000-0000-0000-0000-000000000000", "5e1f3a2b-8c4d-4e6f-9a0b-1c2d3e4f5a6b");
  return JSON.parse(ids.replaceAll(/\/id\/0{24}/g, "/id/5E1F3A2B8C4D4E6F9A0B1C2D")) as T; // EKS issuers too
}

/** The estate ConfigMap the replication area deploys, from prod's config (image pinned) with `edit` applied. */
function estate(edit: (c: EstateConfig) => EstateConfig = (c) => c, pin: (c: EstateConfig) => EstateConfig = pinned): RecordedResource {
  const spec = buildEstateSpec("prod", edit(pin(loadStack("prod"))));
  return res("kubernetes:core/v1:ConfigMap", "aws-use1-meridian-replication", { metadata: { name: "meridian-replication", namespace: C }, data: { "estate.json": JSON.stringify(spec) } });
}

const aurora = (name: string, instanceClass: string) =>
  res("aws:rds/clusterInstance:ClusterInstance", name, { clusterIdentifier: C, instanceClass, engine: "aurora-postgresql", publiclyAccessible: false });

interface Expected {
  policy: string;
  level: "mandatory" | "advisory";
  resource?: string;
  message: RegExp;
}
interface Case {
  name: string;
  resources: RecordedResource[];
  config?: Record<string, unknown>;
  expected: Expected[];
}

const COST_TABLE: Expected = { policy: "meridian-cost-table", level: "advisory", message: /^monthly cost estimate \$[\d,]+\.\d\d of \$[\d,]+\.\d\d budget:/ };

const cases: Case[] = [
  { name: "a small compliant stack: only the advisory cost table", resources: [estate(), aurora("db-1", "db.r6g.large")], expected: [COST_TABLE] },
  {
    name: "the shipped placeholders on prod: all-zero image digests, documentation egress addresses, nil-UUID Azure IDs",
    resources: [estate(undefined, (c) => c), aurora("db-1", "db.r6g.large")],
    expected: [
      COST_TABLE,
      {
        policy: "meridian-nil-uuid-placeholder",
        level: "mandatory",
        message:
          /^6 settings name a subscription or tenant by the nil UUID .*, or an EKS issuer by a zero ID: meridian:replication\.network\.azure\.subscriptionId, meridian:replication\.identity\.aws\.oidcIssuers\["aws-use1"\], .*meridian:replication\.identity\.azure\.tenantId\./,
      },
      {
        policy: "meridian-mesh-egress-placeholder",
        level: "mandatory",
        message: /^6 mesh egress addresses are RFC 5737 documentation addresses .*meridian:regions\[5\]\.mesh\.egress \(\S+\): 203\.0\.113\.36\/32\./,
      },
      // Same policy: ordered by message, as the table compares them.
      { policy: "meridian-runtime-image-placeholder", level: "mandatory", message: /^meridian:imageDigests has the all-zero placeholder for \d+ images: no image has that digest/ },
      { policy: "meridian-runtime-image-placeholder", level: "mandatory", message: /^meridian:runtime\.image is the placeholder "ghcr\.io\/meridian\/runtime@sha256:0{64}": no image has that digest/ },
    ],
  },
  {
    name: "a database above the stack's per-database ceiling",
    resources: [estate((c) => ({ ...c, budget: { ...c.budget, limits: { databaseMonthlyUSD: 1000 } } })), aurora("db-1", "db.r6g.large"), aurora("db-big", "db.r6g.4xlarge")],
    expected: [
      COST_TABLE,
      {
        policy: "meridian-resource-cost-limit",
        level: "mandatory",
        resource: "db-big",
        message: /^database db-big costs \$1,518\.40\/month \(Database instance \(on-demand, db\.r6g\.4xlarge\)\), above the database limit of \$1,000\.00$/,
      },
    ],
  },
  {
    name: "a cache ceiling from the policy config instead of the stack",
    resources: [estate(), res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", { nodeType: "cache.r7g.large", numNodeGroups: 1, replicasPerNodeGroup: 1 })],
    config: { cacheMonthlyUSD: 300 },
    expected: [COST_TABLE, { policy: "meridian-resource-cost-limit", level: "mandatory", resource: "cache", message: /^cache cache costs \$319\.74\/month .* above the cache limit of \$300\.00$/ }],
  },
  {
    name: "a full mesh beyond its premium over a star, and over six regions",
    resources: [estate((c) => ({ ...c, replication: { ...c.replication, topology: "full-mesh" }, budget: { ...c.budget, maxFullMeshPremiumOverStar: 0.05 } }))],
    expected: [
      COST_TABLE,
      { policy: "meridian-egress-topology", level: "mandatory", message: /^full-mesh replication over 6 regions \(limit 4\) costs \$4,104\.14\/month; use star \(\$3,766\.64\/month\)/ },
      { policy: "meridian-full-mesh-premium", level: "mandatory", message: /^full-mesh egress \$4,104\.14\/month is 9\.0% above a star's \$3,766\.64 \(allowed 5\.0%\)$/ },
    ],
  },
  {
    name: "a stack over its budget",
    resources: [estate((c) => ({ ...c, budget: { ...c.budget, monthlyUSD: 1000 } })), aurora("db-1", "db.r6g.large")],
    expected: [
      { policy: "meridian-cost-table", level: "advisory", message: /^monthly cost estimate \$4,\d{3}\.\d\d of \$1,000\.00 budget:/ },
      {
        policy: "meridian-stack-budget",
        level: "mandatory",
        message: /^monthly estimate \$4,\d{3}\.\d\d exceeds the prod budget of \$1,000\.00 \(largest: replication\/gcp-asne1->azure-sea \$1,200\.00/,
      },
    ],
  },
  {
    name: "resource rules in preview: a health-checked record (unknown check id) with a long TTL, a public Cloud SQL",
    resources: [
      res("aws:route53/record:Record", "api-aws-use1", {
        zoneId: C,
        name: "api.meridian.example.com",
        type: "A",
        ttl: 300,
        setIdentifier: "aws-use1",
        healthCheckId: C,
        records: [C],
        geolocationRoutingPolicies: [{ continent: "NA" }],
      }),
      res("gcp:sql/databaseInstance:DatabaseInstance", "sql", { settings: { tier: "db-custom-4-16384", ipConfiguration: { ipv4Enabled: true, privateNetwork: C } } }),
      res("kubernetes:security.istio.io/v1:PeerAuthentication", "pa", { metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode: "PERMISSIVE" } } }),
    ],
    expected: [
      { policy: "meridian-failover-ttl", level: "mandatory", resource: "api-aws-use1", message: /^health-checked record ttl 300s exceeds the failover limit of 60s$/ },
      { policy: "meridian-no-public-databases", level: "mandatory", resource: "sql", message: /^settings\.ipConfiguration\.ipv4Enabled must be false/ },
      { policy: "meridian-mtls-strict", level: "mandatory", resource: "pa", message: /^spec\.mtls\.mode is PERMISSIVE; expected STRICT$/ },
      { policy: "meridian-mtls-mesh-wide", level: "mandatory", message: /^Istio is installed but no PeerAuthentication in istio-system sets spec\.mtls\.mode STRICT mesh-wide/ },
    ],
  },
];

interface Seen {
  policy: string;
  level: string;
  resource: string | null;
  message: string;
}
const order = (xs: Seen[]) => [...xs].sort((a, b) => `${a.policy}${a.resource}${a.message}`.localeCompare(`${b.policy}${b.resource}${b.message}`));
const descriptions = new Map(rules.map((r) => [r.name, r.description]));

function viaPlan(c: Case): Seen[] {
  const resources = c.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: withUnknowns(r.inputs) as Record<string, unknown> }));
  return evaluatePolicies(resources, modelFromResources(resources), c.config ?? {}).map((v) => ({
    policy: v.policy,
    level: v.enforcementLevel,
    resource: v.resource?.name ?? null,
    message: v.message,
  }));
}

let engine: Engine;

async function viaPack(c: Case): Promise<Seen[]> {
  await engine.configure(Object.fromEntries(rules.map((r) => [r.name, { properties: c.config ?? {} }])));
  const byUrn = new Map(c.resources.map((r) => [r.urn, r.name]));
  const out: Seen[] = [];
  const collect = (ds: { policyName: string; enforcementLevel: string; urn: string; message: string }[], resource: string | null) => {
    for (const d of ds) {
      // The policy SDK prefixes the policy's description to each message.
      const prefix = `${descriptions.get(d.policyName)}\n`;
      out.push({
        policy: d.policyName,
        level: d.enforcementLevel.toLowerCase(),
        resource: resource ?? byUrn.get(d.urn) ?? null,
        message: d.message.startsWith(prefix) ? d.message.slice(prefix.length) : d.message,
      });
    }
  };
  for (const r of c.resources) collect((await engine.analyze(r)).diagnostics, r.name);
  collect((await engine.analyzeStack(c.resources)).diagnostics, null);
  return out;
}

beforeAll(async () => {
  await buildPolicyPack();
  engine = await Engine.start({ packDir: POLICIES_DIR, project: "meridian", stack: "prod" });
  await engine.boot();
}, 300_000);

afterAll(async () => {
  await engine?.close();
});

describe.each(cases)("$name", (c) => {
  it("meridian plan and the real pack report exactly the expected violations", async () => {
    const plan = order(viaPlan(c));
    const pack = order(await viaPack(c));
    expect(pack).toEqual(plan);
    const expected = [...c.expected].sort((a, b) => `${a.policy}${a.resource ?? null}`.localeCompare(`${b.policy}${b.resource ?? null}`));
    expect(plan.map((v) => [v.policy, v.level, v.resource])).toEqual(expected.map((e) => [e.policy, e.level, e.resource ?? null]));
    plan.forEach((v, i) => expect(v.message).toMatch(expected[i]!.message));
  });
});
