// Credentials rotated under a running client (#23): a managed cluster's AUTH token or an ACL user's password is
// rotated by adding the new one, updating the mounted Secret, then removing the old one. A real TLS cluster on
// loopback with an ACL user: after the old password is removed and every connection of that user is killed, the
// client following the Secret's files reconnects with the new one; a client that read them once at start is refused;
// the readiness probe reads them again; an emptied file keeps the last good credentials and says so.
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterOptions, clusterProbe, followCredentials, hostPortOf, type ClusterAccess } from "../../../../runtime/ratelimit/store/cluster-access.js";
import { onEveryNode as onEveryNodeOf, startRedisCluster, type RedisCluster } from "../redis-cluster.js";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ secure: true });
}, 120_000);
afterAll(async () => cluster?.stop());

/** What the kubelet does to a mounted Secret's file: a new file renamed over it (never a half-written one). */
function replaceSecret(file: string, value: string) {
  writeFileSync(`${file}.new`, value);
  renameSync(`${file}.new`, file);
}

/** Every node, as the administrator: `ACL SETUSER meridian …`, then drop that user's connections if asked. */
const onEveryNode = (commands: string[][]) => onEveryNodeOf(cluster, commands);

/** The key's value once the client answers (a reconnect may take a few tries), or null after 20 s. */
async function readBack(c: Cluster): Promise<string | null> {
  const end = Date.now() + 20_000;
  for (;;) {
    const v = await c.get("mrl:{rot}a").catch(() => null);
    if (v !== null || Date.now() > end) return v;
  }
}

const until = async (ok: () => boolean, what: string) => {
  for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ok()) throw new Error(`gave up waiting for ${what}`);
};

describe("followCredentials on a TLS Redis Cluster with an ACL user", () => {
  it("reconnects with a rotated password; a client that never re-reads is refused; an emptied file keeps the last good one", async () => {
    const s = cluster.secure!;
    const access: ClusterAccess = {
      nodes: cluster.spec.split(","),
      tls: { caFile: s.caFile, serverName: s.serverName },
      auth: { usernameFile: join(s.secretDir, "username"), passwordFile: join(s.secretDir, "password"), reloadSeconds: 0.1 },
    };
    const client = (o: object) => new Cluster(access.nodes.map(hostPortOf), { ...clusterOptions(access, { maxRetriesPerRequest: 1, commandTimeout: 2000 }), ...o });
    const following = client({});
    const stale = client({ clusterRetryStrategy: () => null });
    stale.on("error", () => undefined);
    following.on("error", () => undefined);
    const reports: [string, string][] = [];
    const stop = followCredentials(following, access, (level, m) => reports.push([level, m]));
    try {
      for (const c of [following, stale]) expect(await c.set("mrl:{rot}a", "1")).toBe("OK");

      // Rotation: the new password added beside the old, the Secret updated, then the old one removed and every
      // connection of the user dropped (what a failover or an idle timeout would do).
      const next = "rotated-" + Date.now().toString(36);
      await onEveryNode([["ACL", "SETUSER", "meridian", `>${next}`]]);
      replaceSecret(access.auth!.passwordFile, `${next}\n`);
      await until(() => reports.some(([l, m]) => l === "info" && /reloaded/.test(m)), "the reload");
      await onEveryNode([
        ["ACL", "SETUSER", "meridian", `<${s.password}`],
        ["CLIENT", "KILL", "USER", "meridian"],
      ]);

      expect(await readBack(following)).toBe("1");
      await expect(stale.get("mrl:{rot}a")).rejects.toThrow();
      const probe = clusterProbe(access);
      if (probe.kind !== "custom") throw new Error("the cluster probe is a custom store check");
      await expect(probe.check()).resolves.toBeUndefined();

      // An emptied file (a Secret mid-edit): reported once, the last good credentials kept through another drop.
      replaceSecret(access.auth!.passwordFile, "");
      await until(() => reports.some(([l, m]) => l === "warn" && /the file is empty/.test(m)), "the warning");
      await onEveryNode([["CLIENT", "KILL", "USER", "meridian"]]);
      expect(await readBack(following)).toBe("1");
      expect(reports.filter(([l]) => l === "warn")).toHaveLength(1);
    } finally {
      stop();
      following.disconnect();
      stale.disconnect();
    }
  });
});
