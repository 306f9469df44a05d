// The global allocator's budgets on a Redis Cluster, as the estate deploys it: the stack names the cluster's seed
// nodes (meridian:runtime.ratelimit.allocatorRedisCluster), the model renders the allocator's config file, args, env
// and network policy, and the allocator is run as a real process from those files against a real 3-master cluster on
// loopback — then a rate limit service, also from its rendered config, spends a global limit's budget through it;
// with the cluster gone the allocator answers 503 and is not ready.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { regionNetworkInputs, regionNetworkPolicies } from "../../../model/security/network.js";
import { regionWorkloads, type WorkloadSpec } from "../../../model/workloads/spec.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { ServerProcesses } from "../../rendered-workload.js";
import { startRedisCluster, type RedisCluster } from "../../runtime/ratelimit/redis-cluster.js";

const REGION = "aws-euw1";
const root = mkdtempSync(join(tmpdir(), "allocator-cluster-"));
const NO_STACKS = { ...process.env, MERIDIAN_STACKS_DIR: mkdtempSync(join(root, "no-stacks-")) };
const procs = new ServerProcesses();
const servers: Server[] = [];
let cluster: RedisCluster;
let stopped = false;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  procs.killAll();
  for (const s of servers) s.close();
  if (!stopped) await cluster?.stop();
  rmSync(root, { recursive: true, force: true });
});

function prodWith(nodes: string[] | undefined): EstateSpec {
  const map = readStackConfigMap("prod");
  const runtime = map["meridian:runtime"] as Record<string, Record<string, unknown>>;
  if (nodes) map["meridian:runtime"] = { ...runtime, ratelimit: { ...runtime["ratelimit"], allocatorRedisCluster: nodes } };
  return buildEstateSpec("prod", parseEstateConfig(map, "prod (allocator on a cluster)"));
}
const workload = (s: EstateSpec, name: string): WorkloadSpec => regionWorkloads(s, REGION).find((w) => w.service.name === name)!;

/** Write the rendered ConfigMap to a temp mount and run the workload's own args (loopback, port 0); no store flag is added. */
async function serve(w: WorkloadSpec, config: Record<string, string>, extra: string[] = []): Promise<string> {
  // --redis is the secret URL of the pod; the cluster allocator must not have one.
  return (await procs.startRendered(w, { configRoot: root, stateRoot: `${root}/state` }, { config, dropFlags: ["--redis"], extra, env: NO_STACKS })).url;
}

/** Stands in for a pod's sidecar: forwards to `target` with the XFCC Istio appends for a caller of identity `peer`. */
async function sidecar(target: string, by: string, peer: string): Promise<string> {
  const s = createServer((req, res) => {
    const out = httpRequest(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, "x-forwarded-client-cert": `By=${by};Hash=${"0".repeat(64)};Subject="";URI=${peer}` } }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    req.pipe(out);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe("the global allocator on a Redis Cluster, from the rendered estate", () => {
  it("renders the cluster's nodes into the allocator's config, without the managed Redis's secret URL, and opens egress to them", () => {
    const nodes = cluster.nodes.map((n) => `${n.host}:${n.port}`);
    const spec = prodWith(nodes);
    const w = workload(spec, "allocator");
    expect(JSON.parse(w.config["allocator.json"]!)).toMatchObject({ store: "redis", redisCluster: nodes, redisPrefix: "mrl:alloc:" });
    expect(w.args).not.toContain("--redis");
    expect(w.env.map((e) => e.name)).not.toContain("MERIDIAN_REDIS_URL");
    const policy = regionNetworkPolicies(regionNetworkInputs(spec, REGION, "aws")).find((p) => p.metadata.name === "allow-allocator")!;
    const egressPorts = (policy.spec.egress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port));
    for (const n of cluster.nodes) expect(egressPorts).toContain(n.port);
    // Without it, the allocator keeps the ledger region's managed Redis (the secret URL), as before.
    const managed = workload(prodWith(undefined), "allocator");
    expect(managed.args).toEqual(expect.arrayContaining(["--redis", "$(MERIDIAN_REDIS_URL)"]));
    expect(managed.env.map((e) => e.name)).toContain("MERIDIAN_REDIS_URL");
    expect(JSON.parse(managed.config["allocator.json"]!)).not.toHaveProperty("redisCluster");
  });

  it("the allocator run from its rendered config keeps budgets on the cluster, and the rendered rate limit service spends them", async () => {
    const spec = prodWith(cluster.nodes.map((n) => `${n.host}:${n.port}`));
    const td = spec.pki.trustDomain;
    const prefix = `mrl:test:alloc-cluster:${process.pid}:`;
    const w = workload(spec, "allocator");
    const allocator = await serve(w, w.config, ["--redis-prefix", prefix]);
    expect((await fetch(`${allocator}/readyz`)).status).toBe(200);
    const rlId = `spiffe://${td}/ns/meridian/sa/ratelimit-${REGION}`;
    const front = await sidecar(allocator, `spiffe://${td}/ns/meridian/sa/ratelimit-allocator`, rlId);
    // Two clients asking one window of a limit of 10 directly: the cluster-held shares never exceed it.
    const window = Math.floor(Date.now() / 60_000) * 60_000;
    const ask = async (client: string, wants: number) => {
      const r = await fetch(`${front}/v1/allocator/budget`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ resource: "probe", limit: 10, periodMs: 60_000, client, window, used: 0, wants }),
      });
      expect(r.status).toBe(200);
      return (await r.json()) as { window: number; has: number; free: number };
    };
    const a = await ask("a", 8);
    const b = await ask("b", 8);
    expect(a.window).toBe(window);
    expect(a.has + b.has).toBeLessThanOrEqual(10);
    expect(a.has).toBe(8);
    expect(b.has).toBe(2);

    const rl = workload(spec, "ratelimit");
    const cfg = JSON.parse(rl.config["ratelimit.json"]!) as { globalAllocator: { url: string; waitMs?: number } };
    cfg.globalAllocator.url = front; // the allocator's Service is a cluster address: the sidecar stands in for it
    cfg.globalAllocator.waitMs = 10_000; // where the budget comes from is checked, not how fast a cold call is
    // The rate limit service's own counters: its secret --redis is dropped here, so they are in memory.
    const url = await serve(rl, { ...rl.config, "ratelimit.json": JSON.stringify(cfg) }, ["--grpc-port", "0"]);
    const xfcc = `By=${rlId};Hash=${"0".repeat(64)};Subject="";URI=spiffe://${td}/ns/meridian/sa/escrow`; // an HTTP check is a service's (httpCallers)
    const r = await fetch(`${url}/v1/ratelimit`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-client-cert": xfcc },
      body: JSON.stringify({ domain: spec.runtime.ratelimit.domain, descriptors: [{ entries: [{ key: "generic_key", value: spec.runtime.ratelimit.domain }] }] }),
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { overall_code: string }).overall_code).toBe("OK");

    // Both budgets are hashes on the cluster, each in its limit's slot; the service's grant names this region's replica.
    // The limit's window is a second: by the time this reads, the service may have asked ahead for the next window,
    // and a new window that was not asked for ahead starts empty, so the grant is looked for in the current window's
    // hash and the next one's (`<prefix>next{budget:…}`).
    const client = new Cluster(cluster.nodes);
    try {
      await client.ping(); // the slot map is loaded
      const keys = (await Promise.all(client.nodes("master").map((n) => n.keys(`${prefix}*{budget:*`)))).flat();
      expect(new Set(keys.map((k) => k.slice(k.indexOf("{")))).size).toBe(2);
      const grants = await Promise.all(keys.map((k) => client.hgetall(k)));
      // Held under the caller the sidecar verified: the allocator binds `client` to it.
      expect(grants.some((g) => Object.keys(g).some((c) => c.startsWith(`${rlId}#${REGION}/`)))).toBe(true);
      await Promise.all(keys.map((k) => client.del(k)));
    } finally {
      client.disconnect();
    }

    // The cluster gone: the allocator says so (503, not a grant from nowhere) and is not ready; the service's
    // failure policy (rendered `local`) takes over for the global limit.
    stopped = true;
    await cluster.stop();
    const down = await fetch(`${front}/v1/allocator/budget`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ resource: "probe", limit: 10, periodMs: 60_000, client: "a", window, used: 0, wants: 1 }),
    });
    expect(down.status).toBe(503);
    expect((await fetch(`${allocator}/readyz`)).status).toBe(503);
  }, 90_000);
});
