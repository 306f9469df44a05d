// Memorystore IAM authentication (#23): the AUTH password is the pod's OAuth2 access token from the GKE metadata
// server, renewed before it expires. A fake metadata server on a loopback port answers as the documented one does
// (GET /computeMetadata/v1/instance/service-accounts/default/token with `Metadata-Flavor: Google`, JSON access_token /
// expires_in / token_type, the same header back) and mints short-lived tokens, each added as a password of the TLS
// cluster's default user (a password-only AUTH, as Memorystore's). Expiry is the old tokens removed and the connections
// dropped: the client following the token file reconnects with the current one; a client that read it once is refused.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterOptions, followCredentials, hostPortOf, type ClusterAccess } from "../../../../runtime/ratelimit/store/cluster-access.js";
import { startGcpTokenSource } from "../../../../runtime/ratelimit/store/gcp-token.js";
import { onEveryNode as onEveryNodeOf, startRedisCluster, type RedisCluster } from "../redis-cluster.js";

const TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token";

let cluster: RedisCluster;
let metadata: Server;
const dir = mkdtempSync(join(tmpdir(), "meridian-iam-"));
const minted: string[] = [];
const state = { mode: "mint" as "mint" | "same" | "fail", lifetimeSeconds: 3, refused: 0 };

const onEveryNode = (commands: string[][]) => onEveryNodeOf(cluster, commands);

beforeAll(async () => {
  cluster = await startRedisCluster({ secure: true });
  metadata = createServer((req, res) => {
    void (async () => {
      // The real server refuses a request without the header (and one relayed through a proxy).
      if (req.url?.split("?")[0] !== TOKEN_PATH || req.headers["metadata-flavor"] !== "Google" || req.headers["x-forwarded-for"]) {
        state.refused++;
        res.writeHead(403).end();
        return;
      }
      if (state.mode === "fail") return void res.writeHead(503, { "metadata-flavor": "Google" }).end("unavailable");
      if (state.mode === "mint" || minted.length === 0) {
        const token = `ya29.test-${minted.length}-${Math.random().toString(36).slice(2)}`;
        await onEveryNode([["ACL", "SETUSER", "default", `>${token}`]]);
        minted.push(token);
      }
      res.writeHead(200, { "metadata-flavor": "Google", "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: minted.at(-1), expires_in: state.lifetimeSeconds, token_type: "Bearer" }));
    })();
  });
  await new Promise<void>((r) => metadata.listen(0, "127.0.0.1", r));
  process.env["GCE_METADATA_HOST"] = `127.0.0.1:${(metadata.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  delete process.env["GCE_METADATA_HOST"];
  metadata?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const until = async (ok: () => boolean, what: string) => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ok()) throw new Error(`gave up waiting for ${what}`);
};
async function readBack(c: Cluster): Promise<string | null> {
  const end = Date.now() + 20_000;
  for (;;) {
    const v = await c.get("mrl:{iam}a").catch(() => null);
    if (v !== null || Date.now() > end) return v;
  }
}

describe("the GCP IAM token source and a cluster that accepts only live tokens", () => {
  it("writes the token before the client starts and renews it; after expiry the following client reconnects, a stale one is refused", async () => {
    const file = join(dir, "redis-iam", "token");
    const reports: [string, string][] = [];
    const source = await startGcpTokenSource({ file, report: (l, m) => reports.push([l, m]), refreshBeforeMs: 2000, retryMs: 200 });
    const s = cluster.secure!;
    const access: ClusterAccess = { nodes: cluster.spec.split(","), tls: { caFile: s.caFile, serverName: s.serverName }, auth: { passwordFile: file, reloadSeconds: 0.1 } };
    const client = (o: object) => new Cluster(access.nodes.map(hostPortOf), { ...clusterOptions(access, { maxRetriesPerRequest: 1, commandTimeout: 2000 }), ...o });
    const following = client({});
    const stale = client({ clusterRetryStrategy: () => null });
    for (const c of [following, stale]) c.on("error", () => undefined);
    const followed: string[] = [];
    const stop = followCredentials(following, access, (_l, m) => followed.push(m));
    try {
      expect(readFileSync(file, "utf8")).toBe(minted[0]);
      for (const c of [following, stale]) expect(await c.set("mrl:{iam}a", "1")).toBe("OK");

      // Renewed before expiry: each new token lands in the file, and the follower picks it up.
      await until(() => minted.length >= 3 && readFileSync(file, "utf8") === minted.at(-1), "two renewals");
      expect(reports.filter(([l]) => l === "info").length).toBeGreaterThanOrEqual(3);

      // The server keeps answering with its cached token (as GKE's does) while the older ones expire.
      state.mode = "same";
      const live = minted.at(-1)!;
      await until(() => readFileSync(file, "utf8") === live, "the live token in the file");
      // What the client's next connections AUTH with: the live token, once the follower has read it.
      await until(() => following.options.redisOptions?.password === live, "the follower's reload of the live token");
      expect(followed.some((m) => /reloaded/.test(m))).toBe(true);
      await onEveryNode([
        ["ACL", "SETUSER", "default", "resetpass", `>${cluster.admin.password}`, `>${live}`],
        ["CLIENT", "KILL", "USER", "default", "SKIPME", "yes"],
      ]);
      expect(await readBack(following)).toBe("1");
      await expect(stale.get("mrl:{iam}a")).rejects.toThrow();

      // The metadata server failing: the last token stays in the file, the failure is reported, and renewal resumes.
      const reported = reports.length;
      state.mode = "fail";
      await until(() => reports.slice(reported).some(([l, m]) => l === "warn" && /not refreshed/.test(m)), "the warning");
      expect(readFileSync(file, "utf8")).toBe(live);
      state.mode = "mint";
      await until(() => readFileSync(file, "utf8") !== live, "renewal after the outage");
      expect(minted).toContain(readFileSync(file, "utf8"));
      expect(state.refused).toBe(0);
      source.stop();
    } finally {
      source.stop();
      stop();
      following.disconnect();
      stale.disconnect();
    }
  }, 90_000);

  it("fails the start naming the metadata server when no token comes", async () => {
    state.mode = "fail";
    try {
      await expect(startGcpTokenSource({ file: join(dir, "never", "token"), report: () => undefined, retryMs: 100, startupMs: 300 })).rejects.toThrow(
        /no Redis IAM access token from the metadata server at 127\.0\.0\.1:\d+/,
      );
    } finally {
      state.mode = "mint";
    }
  }, 30_000);
});
