import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import net from "node:net";
import { promisify } from "node:util";
import dnsPacket from "dns-packet";
import { LocalEstate } from "../../../runtime/local/estate.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { chiSquare, chiSquareCritical } from "../../model/traffic/chi-square.js";

/** `n` A queries over one TCP connection (RFC 7766 pipelining; UDP would meet the resolver's rate limit). */
async function queryOverTcp(port: number, name: string, n: number): Promise<string[][]> {
  const socket = net.connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const answers = new Map<number, string[]>();
  let buffered = Buffer.alloc(0);
  const done = new Promise<void>((resolve, reject) => {
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const reply = dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
        answers.set(
          reply.id!,
          (reply.answers ?? []).flatMap((a) => (a.type === "A" ? [String(a.data)] : [])),
        );
        if (answers.size === n) resolve();
      }
    });
  });
  for (let id = 1; id <= n; id++) socket.write(dnsPacket.streamEncode({ type: "query", id, questions: [{ type: "A", name }] }));
  await done;
  socket.destroy();
  return [...answers.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the local GSLB resolver routes like the providers (a weighted estate, real processes)", () => {
  let estate: LocalEstate;
  const spec = buildEstateSpec("local", loadStack("local"));
  const fqdn = `${spec.dns.host}.${spec.dns.apex}`;
  const weights = { "local-aws": 200, "local-gcp": 50, "local-azure": 5 };

  beforeAll(async () => {
    estate = await LocalEstate.start({ spec, dnsPort: 0, basePort: 0, routing: { mode: "weighted", weights }, dnsSeed: 19 });
    await until("every region healthy", () => (Object.values(estate.healthStates()).every((s) => s === "healthy") ? true : undefined));
  });
  afterAll(() => estate?.stop());

  it("1,000 queries: one address each, distributed by the model's weights within chi-square tolerance", async () => {
    const before = estate.queryLog.length;
    const replies = await queryOverTcp(estate.dns.port, fqdn, 1000);
    expect(replies.every((r) => r.length === 1)).toBe(true);
    const logged = estate.queryLog.slice(before);
    expect(logged).toHaveLength(1000);
    // What was answered is what was logged, query by query.
    expect(logged.map((e) => e.address)).toEqual(replies.map((r) => r[0]));
    // Expected counts from the answer set each query was drawn from (if a health check flipped mid-run
    // on a loaded machine, the model's weights changed with it, and so does the expectation).
    const ids = estate.regions.map((r) => r.id);
    const expected = ids.map((id) => logged.reduce((s, e) => s + (e.candidates.find((c) => c.regionId === id)?.weight ?? 0) / e.candidates.reduce((t, c) => t + c.weight, 0), 0));
    const observed = ids.map((id) => logged.filter((e) => e.regionId === id).length);
    const { statistic, df } = chiSquare(observed, expected);
    expect(statistic).toBeLessThan(chiSquareCritical(df));
    // With every region healthy the whole run, that is 200/50/5 exactly.
    if (logged.every((e) => e.candidates.length === 3 && e.candidates.every((c) => c.weight === weights[c.regionId as keyof typeof weights])))
      expect(expected.map((x) => Math.round(x))).toEqual([784, 196, 20]);
    expect(observed[0]).toBeGreaterThan(observed[1]!);
    expect(observed[1]).toBeGreaterThan(observed[2]!);
  });

  it("dig gets one weighted answer, logged with the client, its EDNS Client Subnet and the weights it was drawn from", async () => {
    const before = estate.queryLog.length;
    const { stdout } = await promisify(execFile)("dig", ["@127.0.0.1", "-p", String(estate.dns.port), fqdn, "A", "+short", "+tries=1", "+time=3", "+subnet=100.66.0.0/24"]);
    const addresses = stdout.trim().split("\n").filter(Boolean);
    expect(addresses).toHaveLength(1);
    expect(estate.regions.map((r) => r.address)).toContain(addresses[0]);
    const entry = estate.queryLog.slice(before).find((e) => e.transport === "udp");
    expect(entry).toMatchObject({ name: fqdn, type: "A", address: addresses[0], subnet: "100.66.0.0/24", clientFrom: "ecs", continent: "europe" });
    expect(entry!.candidates.map((c) => c.regionId)).toEqual(["local-aws", "local-gcp", "local-azure"]);
    // The dashboard's view: the answer set with each region's share.
    const set = estate.answer();
    expect(set.mode).toBe("weighted");
    expect(set.answers.map((a) => a.regionId)).toEqual(["local-aws", "local-gcp", "local-azure"]);
  });
});
