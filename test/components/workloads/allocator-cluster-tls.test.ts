// The allocator's Redis Cluster over TLS with credentials, as the estate renders it: the stack's
// allocatorRedisCluster (an existing cluster's nodes with a private CA and an ACL user, or a managed one) becomes the
// allocator's config file, args, env and the Secret it mounts; the allocator is run as a real process from those
// files, with the Secret's keys written where the pod mounts them, against a real TLS-only 3-master cluster on
// loopback. A managed cluster's configuration endpoint arrives through the env the kubelet expands into
// --redis-cluster, and its certificate chains to a CA in the system store (here NODE_EXTRA_CA_CERTS stands for the
// cloud's public CA). A managed cluster on GCP (Memorystore, IAM authentication) is verified against the CA the Secret
// carries as ca.crt, and its password is the access token the allocator fetches from the metadata server (a fake one
// on loopback, GCE_METADATA_HOST) into the pod's /tmp.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { CONFIG_DIR, regionWorkloads, type WorkloadSpec } from "../../../model/workloads/spec.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";
import { AWS_VPCS, oneCloudDev } from "./one-cloud.js";
import { startRedisCluster, type RedisCluster } from "../../runtime/ratelimit/redis-cluster.js";

const REGION = "aws-use1";
const root = mkdtempSync(join(tmpdir(), "allocator-cluster-tls-"));
const NO_STACKS = { ...process.env, MERIDIAN_STACKS_DIR: mkdtempSync(join(root, "no-stacks-")) };
const children: ChildProcess[] = [];
const servers: Server[] = [];
let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ secure: true });
}, 90_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const s of servers) s.close();
  await cluster?.stop();
  rmSync(root, { recursive: true, force: true });
});

function stackWith(stack: string, allocatorRedisCluster: unknown): EstateSpec {
  const map = readStackConfigMap(stack);
  const runtime = map["meridian:runtime"] as Record<string, Record<string, unknown>>;
  map["meridian:runtime"] = { ...runtime, ratelimit: { ...runtime["ratelimit"], allocatorRedisCluster } };
  return buildEstateSpec(stack, parseEstateConfig(map, `${stack} (allocator on a TLS cluster)`));
}
const prodWith = (allocatorRedisCluster: unknown) => stackWith("prod", allocatorRedisCluster);
const allocatorOf = (s: EstateSpec, region = REGION): WorkloadSpec => regionWorkloads(s, region).find((w) => w.service.name === "allocator")!;

/**
 * The pod, on loopback: the ConfigMap and the Secret (`secret`: its keys) written where they are mounted (under a temp
 * dir), the workload's own args with `$(VAR)` expanded from `env` as the kubelet does, and port 0.
 */
async function runPod(w: WorkloadSpec, dir: string, secret: Record<string, string>, env: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  // The mounts, and the token file in the pod's own /tmp (an emptyDir), under `dir`.
  const remap = (s: string) => s.split("/tmp/redis-iam/").join(`${dir}/tmp/redis-iam/`).split(`${CONFIG_DIR}/`).join(`${dir}/`);
  mkdirSync(join(dir, "allocator"), { recursive: true });
  for (const [file, text] of Object.entries(w.config)) writeFileSync(join(dir, "allocator", file), remap(text));
  expect(w.secretMounts).toHaveLength(1);
  const mount = remap(w.secretMounts[0]!.mountPath);
  mkdirSync(mount, { recursive: true });
  for (const [key, value] of Object.entries(secret)) writeFileSync(join(mount, key), value);
  const args: string[] = [];
  for (let i = 0; i < w.args.length; i++) {
    const a = w.args[i]!;
    if (a === "--port") args.push(a, String((i++, 0)));
    else if (a === "--host") args.push(a, String((i++, "127.0.0.1")));
    else args.push(remap(a).replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => env[v] ?? `$(${v})`));
  }
  const child = spawn(process.execPath, [MERIDIAN_BIN, ...args, "--redis-prefix", `mrl:test:${process.pid}:`], {
    cwd: REPO_ROOT,
    env: { ...NO_STACKS, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise<string>((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => reject(new Error(`meridian ${args.slice(0, 2).join(" ")} exited ${code}: ${err}${out}`)));
  });
}

/** Stands in for the pod's sidecar: forwards with the XFCC Istio appends for a rate limit service's identity (the stack's first region's). */
async function asRateLimitService(target: string, spec: EstateSpec): Promise<string> {
  const td = spec.pki.trustDomain;
  const region = spec.regions[0]!.id;
  const s = createServer((req, res) => {
    const xfcc = `By=spiffe://${td}/ns/meridian/sa/ratelimit-allocator;Hash=${"0".repeat(64)};Subject="";URI=spiffe://${td}/ns/meridian/sa/ratelimit-${region}`;
    const out = httpRequest(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, "x-forwarded-client-cert": xfcc } }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    req.pipe(out);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function grant(front: string, client: string, wants: number) {
  const window = Math.floor(Date.now() / 60_000) * 60_000;
  const r = await fetch(`${front}/v1/allocator/budget`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ resource: `probe-${client}`, limit: 10, periodMs: 60_000, client, window, used: 0, wants }),
  });
  return { status: r.status, body: (await r.json()) as { has?: number } };
}

describe("the allocator on a TLS Redis Cluster with credentials, from the rendered estate", () => {
  it("an existing cluster with a private CA and an ACL user: budgets kept, and a rotated password is a 503 /readyz naming it", async () => {
    const s = cluster.secure!;
    const spec = prodWith({ nodes: cluster.spec.split(","), tls: true, serverName: s.serverName, ca: true, auth: "user" });
    const w = allocatorOf(spec);
    const cfg = JSON.parse(w.config["allocator.json"]!) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      store: "redis",
      redisCluster: cluster.spec.split(","),
      redisTls: { caFile: `${CONFIG_DIR}/allocator/redis/ca.crt`, serverName: "redis.test" },
      redisAuth: { usernameFile: `${CONFIG_DIR}/allocator/redis/username`, passwordFile: `${CONFIG_DIR}/allocator/redis/password` },
    });
    expect(w.secretMounts).toEqual([{ secret: "meridian-allocator-redis", mountPath: `${CONFIG_DIR}/allocator/redis` }]);
    const dir = join(root, "existing");
    const url = await runPod(w, dir, { "ca.crt": readFileSync(s.caFile, "utf8"), username: "meridian\n", password: `${s.password}\n` }, {});
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const front = await asRateLimitService(url, spec);
    const a = await grant(front, "a", 8);
    expect(a).toMatchObject({ status: 200, body: { has: 8 } });

    // The ACL user's password rotated on every node (and its sessions ended): not ready, saying why.
    const rotated = `rotated-${Date.now()}`;
    await Promise.all(
      cluster.nodes.map(async (n) => {
        const r = new Redis({ ...cluster.admin, ...n });
        try {
          await r.call("ACL", "SETUSER", "meridian", "resetpass", `>${rotated}`);
          await r.call("CLIENT", "KILL", "USER", "meridian");
        } finally {
          r.disconnect();
        }
      }),
    );
    const down = await fetch(`${url}/readyz`);
    expect(down.status).toBe(503);
    expect(JSON.stringify(await down.json())).toMatch(/credentials refused: WRONGPASS/);
    await Promise.all(
      cluster.nodes.map(async (n) => {
        const r = new Redis({ ...cluster.admin, ...n });
        await r.call("ACL", "SETUSER", "meridian", "resetpass", `>${s.password}`).finally(() => r.disconnect());
      }),
    );
  }, 60_000);

  it("a managed cluster: the configuration endpoint from the Secret's env, the AUTH token from its file, the CA from the system store", async () => {
    // dev on prod's AWS regions: a managed cluster's standbys share the ledger's cloud (allocator-standby-path.test.ts).
    const spec = buildEstateSpec("dev", parseEstateConfig(oneCloudDev("aws", { managed: {} }, AWS_VPCS), "dev on AWS (managed)"));
    const w = allocatorOf(spec);
    expect(w.args).toEqual(expect.arrayContaining(["--redis-cluster", "$(MERIDIAN_ALLOCATOR_REDIS_NODES)"]));
    expect(w.env).toContainEqual({ name: "MERIDIAN_ALLOCATOR_REDIS_NODES", valueFrom: { secretKeyRef: { name: "meridian-allocator-redis", key: "nodes" } } });
    const seed = cluster.spec.split(",")[0]!;
    const token = (cluster.admin.password as string) + "\n";
    const dir = join(root, "managed");
    // Without the CA in the system store the certificate is refused (the file names no caFile: nothing else is trusted).
    await expect(runPod(w, join(root, "managed-untrusted"), { nodes: seed, password: token }, { MERIDIAN_ALLOCATOR_REDIS_NODES: seed })).rejects.toThrow(/TLS refused: self-signed certificate/);
    const url = await runPod(w, dir, { nodes: seed, password: token }, { MERIDIAN_ALLOCATOR_REDIS_NODES: seed }, { NODE_EXTRA_CA_CERTS: cluster.secure!.caFile });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const front = await asRateLimitService(url, spec);
    expect(await grant(front, "m", 3)).toMatchObject({ status: 200, body: { has: 3 } });
  }, 60_000);

  it("a managed cluster on GCP (Memorystore): the discovery endpoint from the env, the cluster's CA from the Secret's ca.crt, an IAM token it fetches itself", async () => {
    // dev's ledger region is on GCP: the rendering Memorystore needs (TLS verified against the cluster's own CA, which
    // no system store holds; IAM authentication: the password is the pod's access token, no Secret holds one).
    const spec = stackWith("dev", { managed: {} });
    const w = allocatorOf(spec, "gcp-usc1");
    const cfg = JSON.parse(w.config["allocator.json"]!) as Record<string, unknown>;
    expect(cfg).toMatchObject({ store: "redis", redisTls: { caFile: `${CONFIG_DIR}/allocator/redis/ca.crt` }, redisAuth: { passwordFile: "/tmp/redis-iam/token" } });
    expect(w.args).toEqual(expect.arrayContaining(["--redis-gcp-iam-token", "/tmp/redis-iam/token"]));
    const seed = cluster.spec.split(",")[0]!;
    const ca = readFileSync(cluster.secure!.caFile, "utf8");
    // The metadata server, as GKE's answers a pod: each token it mints becomes a password of the cluster's default
    // user (Memorystore's AUTH is the token alone); it refuses requests without Metadata-Flavor: Google.
    const tokens: string[] = [];
    const metadata = createServer((req, res) => {
      if (req.url?.split("?")[0] !== "/computeMetadata/v1/instance/service-accounts/default/token" || req.headers["metadata-flavor"] !== "Google") return void res.writeHead(403).end();
      const token = `ya29.alloc-${tokens.length}-${Date.now().toString(36)}`;
      void Promise.all(
        cluster.nodes.map(async (n) => {
          const r = new Redis({ ...cluster.admin, ...n });
          await r.call("ACL", "SETUSER", "default", `>${token}`).finally(() => r.disconnect());
        }),
      ).then(() => {
        tokens.push(token);
        res.writeHead(200, { "metadata-flavor": "Google", "content-type": "application/json" }).end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: "Bearer" }));
      });
    });
    servers.push(metadata);
    await new Promise<void>((r) => metadata.listen(0, "127.0.0.1", r));
    const gke = { GCE_METADATA_HOST: `127.0.0.1:${(metadata.address() as AddressInfo).port}` };
    const env = { MERIDIAN_ALLOCATOR_REDIS_NODES: seed };
    // The CA is the Secret's, not the system's: with another CA in ca.crt, TLS is refused.
    const otherKey = join(root, "other-ca.key");
    const made = spawnSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=another CA", "-keyout", otherKey, "-out", join(root, "other-ca.crt")],
      { encoding: "utf8" },
    );
    expect(made.status, made.stderr).toBe(0);
    const other = readFileSync(join(root, "other-ca.crt"), "utf8");
    await expect(runPod(w, join(root, "gcp-wrong-ca"), { nodes: seed, "ca.crt": other }, env, gke)).rejects.toThrow(/TLS refused/);
    const url = await runPod(w, join(root, "gcp"), { nodes: seed, "ca.crt": ca }, env, gke);
    expect(readFileSync(join(root, "gcp", "tmp", "redis-iam", "token"), "utf8")).toBe(tokens.at(-1));
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const front = await asRateLimitService(url, spec);
    expect(await grant(front, "g", 4)).toMatchObject({ status: 200, body: { has: 4 } });
    // A token the cluster does not accept (this one never became a password) is refused by name at start.
    const refusing = createServer((req, res) => res.writeHead(200, { "metadata-flavor": "Google" }).end(JSON.stringify({ access_token: "ya29.unknown", expires_in: 3599, token_type: "Bearer" })));
    servers.push(refusing);
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r));
    await expect(runPod(w, join(root, "gcp-refused"), { nodes: seed, "ca.crt": ca }, env, { GCE_METADATA_HOST: `127.0.0.1:${(refusing.address() as AddressInfo).port}` })).rejects.toThrow(
      /credentials refused: WRONGPASS/,
    );
  }, 60_000);
});
