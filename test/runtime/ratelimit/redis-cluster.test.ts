// The tests' Redis Cluster (redis-cluster.ts): its nodes' port pairs lie below the kernel's ephemeral range, so no
// port-0 listener or outgoing connection of another test takes one; a port another process binds first anyway costs
// that node one more attempt, not the test run.
import { createServer } from "node:net";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { expect, it } from "vitest";
import { freePortPair, startRedisCluster } from "./redis-cluster.js";

it("port pairs are below the ephemeral range, and a node whose port is taken starts on the next pair", async () => {
  const [ephemeralLow] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  for (let i = 0; i < 20; i++) expect((await freePortPair()) + 10000).toBeLessThan(ephemeralLow!);

  const held = createServer();
  const taken = await freePortPair();
  await new Promise<void>((r) => held.listen(taken, "127.0.0.1", () => r()));
  try {
    const asked: number[] = [];
    const cluster = await startRedisCluster({ nextPort: async () => (asked.push(asked.length === 0 ? taken : await freePortPair()), asked.at(-1)!) });
    try {
      expect(asked).toHaveLength(4); // the first node's first port was taken: one more attempt
      expect(cluster.nodes.map((n) => n.port)).toEqual(asked.slice(1));
      const r = new Redis(cluster.nodes[0]!);
      try {
        expect(await r.cluster("INFO")).toContain("cluster_state:ok");
      } finally {
        r.disconnect();
      }
    } finally {
      await cluster.stop();
    }
  } finally {
    held.close();
  }
}, 60_000);
