// The allocator's Memorystore cluster with IAM authentication, and the path a promoted standby takes to it (#23):
// two regions' RuntimeServices components alone (dev: the ledger region gcp-usc1, the standby gcp-euw1) under the
// recording mock runtime with the offline provider rules — not the whole estate. The cluster admits IAM tokens only;
// the allocator's own Google service account may connect, and both regions' allocator ServiceAccounts are that account
// through Workload Identity; the allocator fetches its token itself. A standby on another cloud is refused at load.
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordedResource } from "../../../components/preview/mock-runtime.js";
import { checkProviderRules } from "../../../components/preview/rules/index.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { runLedgerAndStandby } from "./ledger-standby.js";
import { runtimeService } from "../../../model/services.js";
import { regionNetworkInputs, regionNetworkPolicies } from "../../../model/security/network.js";
import { GCP_IAM_TOKEN_FILE, standbyClusterPathProblem } from "../../../model/workloads/ratelimit-config.js";
import { loadStack, parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

type Obj = Record<string, unknown>;
const managed = { managed: { gcp: { shards: 3, replicasPerShard: 1 } } };
function configOf(stack: string, replication: Obj = {}) {
  const config = loadStack(stack);
  return {
    ...readStackConfigMap(stack),
    "meridian:runtime": { ...config.runtime, ratelimit: { ...config.runtime.ratelimit, allocatorRedisCluster: managed } },
    ...(Object.keys(replication).length ? { "meridian:replication": { ...(readStackConfigMap(stack)["meridian:replication"] as Obj), ...replication } } : {}),
  };
}
const spec = buildEstateSpec("dev", parseEstateConfig(configOf("dev"), "dev (managed, IAM)"));
const allocator = runtimeService("allocator");

let resources: RecordedResource[] = [];
const ofType = (type: string) => resources.filter((r) => r.type === type);
const inputs = (r: RecordedResource) => r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const inRegion = (id: string, type: string) => ofType(type).filter((r) => r.name.startsWith(`${id}-`));

beforeAll(async () => {
  resources = await runLedgerAndStandby(spec, "gcp-usc1", "gcp-euw1");
}, 120_000);

describe("Memorystore with IAM authentication", () => {
  it("the cluster admits IAM tokens only, over TLS, and passes the provider rules", () => {
    const [cluster, ...more] = ofType("gcp:redis/cluster:Cluster");
    expect(more).toEqual([]);
    expect(inputs(cluster!)).toMatchObject({ authorizationMode: "AUTH_MODE_IAM_AUTH", transitEncryptionMode: "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION" });
    expect(checkProviderRules(resources)).toEqual([]);
  });

  it("a Google service account of the allocator's own may connect, and the allocator's Kubernetes ServiceAccount is it through Workload Identity", () => {
    const [account, ...more] = ofType("gcp:serviceaccount/account:Account");
    expect(more).toEqual([]);
    expect(inputs(account!)["accountId"]).toMatch(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
    const email = `${inputs(account!)["accountId"]}@meridian.iam.gserviceaccount.com`;
    const connect = ofType("gcp:projects/iAMMember:IAMMember").filter((m) => inputs(m)["role"] === "roles/redis.dbConnectionUser");
    expect(connect.map((m) => inputs(m)["member"])).toEqual([`serviceAccount:${email}`]);
    const wi = ofType("gcp:serviceaccount/iAMMember:IAMMember").filter((m) => m.name.startsWith("meridian-dev-gcp-usc1-rl"));
    expect(wi.map((m) => [inputs(m)["role"], inputs(m)["member"]])).toEqual([
      ["roles/iam.workloadIdentityUser", `serviceAccount:meridian.svc.id.goog[${allocator.namespace}/${allocator.serviceAccount}]`],
    ]);
    // Both regions' allocator ServiceAccounts (the standby's too: the member names the pool, not one GKE cluster).
    for (const id of ["gcp-usc1", "gcp-euw1"]) {
      const [sa] = inRegion(id, "kubernetes:core/v1:ServiceAccount").filter((r) => r.name === `${id}-allocator-serviceaccount`);
      expect(inputs(sa!)["metadata"], id).toMatchObject({ name: allocator.serviceAccount, annotations: { "iam.gke.io/gcp-service-account": email } });
    }
    // No other service is that account.
    const others = ofType("kubernetes:core/v1:ServiceAccount").filter((r) => !r.name.endsWith("-allocator-serviceaccount"));
    expect(others.length).toBeGreaterThan(0);
    for (const r of others) expect(inputs(r)["metadata"]?.annotations ?? {}, r.name).not.toHaveProperty("iam.gke.io/gcp-service-account");
  });

  it("the allocator fetches and renews its own token into the password file it follows; the Secret holds no password", () => {
    for (const id of ["gcp-usc1", "gcp-euw1"]) {
      const [config] = inRegion(id, "kubernetes:core/v1:ConfigMap").filter((r) => r.name === `${id}-allocator-config`);
      const file = JSON.parse(inputs(config!)["data"]["allocator.json"]) as Obj;
      expect(file["redisAuth"], id).toEqual({ passwordFile: GCP_IAM_TOKEN_FILE });
      const [deployment] = inRegion(id, "kubernetes:apps/v1:Deployment").filter((r) => r.name === `${id}-allocator-deployment`);
      const pod = inputs(deployment!)["spec"]["template"]["spec"];
      const args = pod["containers"][0]["args"] as string[];
      expect(args.slice(args.indexOf("--redis-gcp-iam-token"), args.indexOf("--redis-gcp-iam-token") + 2), id).toEqual(["--redis-gcp-iam-token", GCP_IAM_TOKEN_FILE]);
      // The token file is in a writable volume of the pod (its root filesystem is read-only).
      const mounts = pod["containers"][0]["volumeMounts"] as { name: string; mountPath: string; readOnly?: boolean }[];
      expect(mounts.find((m) => GCP_IAM_TOKEN_FILE.startsWith(`${m.mountPath}/`))).toMatchObject({ name: "tmp" });
      const [secret] = inRegion(id, "kubernetes:core/v1:Secret").filter((r) => inputs(r)["metadata"]["name"] === "meridian-allocator-redis");
      expect(Object.keys(inputs(secret!)["stringData"]).sort(), id).toEqual(["ca.crt", "nodes"]);
    }
  });

  it("the allocator's egress opens the cluster's ports and the GKE metadata server's, in the standby region too", () => {
    for (const id of ["gcp-usc1", "gcp-euw1"]) {
      const policy = regionNetworkPolicies(regionNetworkInputs(spec, id, "gcp")).find((p) => p.metadata.name === "allow-allocator")!;
      const ports = (policy.spec.egress ?? []).flatMap((r) => r.ports ?? []);
      expect(ports, id).toEqual(
        expect.arrayContaining([
          { protocol: "TCP", port: 6379 },
          { protocol: "TCP", port: 11000, endPort: 13047 },
          { protocol: "TCP", port: 80 },
          { protocol: "TCP", port: 988 },
        ]),
      );
    }
  });

  it("the offline plan refuses the connect role for a principal Memorystore cannot authenticate", () => {
    const group = { ...resources.find((r) => r.type === "gcp:projects/iAMMember:IAMMember")!, inputs: { project: "meridian", role: "roles/redis.dbConnectionUser", member: "group:ops@example.com" } };
    expect(checkProviderRules([group]).map((v) => [v.rule, v.message])).toEqual([
      ["gcp-redis-cluster-iam-principal", 'member "group:ops@example.com": Memorystore IAM authentication supports user accounts and service accounts only (user:EMAIL or serviceAccount:EMAIL)'],
    ]);
  });
});

describe("a promoted standby's path to the ledger region's cluster", () => {
  it("a GCP standby has one (the global VPC, PSC's cross-region access, the same workload pool); another cloud's is refused at load naming why", () => {
    expect(standbyClusterPathProblem(spec, "gcp-euw1")).toBeUndefined();
    // staging with gcp-euw1 as its writer: the allocator and its Memorystore cluster there, standbys on AWS and Azure.
    const staging = configOf("staging", { writers: ["gcp-euw1"], writeGBPerMonth: { "gcp-euw1": 300 } });
    let refusal = "";
    try {
      buildEstateSpec("staging", parseEstateConfig(staging, "staging (managed on GCP)"));
    } catch (e) {
      refusal = (e as Error).message;
    }
    for (const [id, cloud] of [
      ["aws-use1", "aws"],
      ["azure-sea", "azure"],
    ])
      expect(refusal).toContain(`a standby allocator in ${id} (${cloud}) cannot reach the ledger region gcp-euw1's Memorystore cluster`);
    expect(refusal).toContain("meridian:runtime.ratelimit.allocatorRedisCluster.managed");
    expect(refusal).toMatch(/GKE Workload Identity access token[\s\S]*Private Service Connect endpoints/);
  });
});
