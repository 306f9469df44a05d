// The S3 map store's writer lease on a real S3 API with conditional writes (moto's server; s3rver ignores them): a second
// store on the same bucket prefix is refused while the first renews its lease; once the first cannot reach S3 (a
// partition, through a TCP proxy) its lease lapses and it refuses every write, and a third store takes the lease over;
// when the network heals, the first's renewal is refused (the lease was taken) and nothing of it is stored. The map
// service refuses writes before they reach the log once its lease is lost, and says so on /readyz. A store that
// ignores conditional writes (s3rver) is refused at start.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { RegionProxy } from "../../../runtime/local/proxy.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/services.js";
import { VerifiableMap } from "../../../runtime/vmap/index.js";
import { mapService, S3MapStore } from "../../../runtime/vmap/services.js";
import { startMoto, type MotoServer } from "../../moto.js";

let moto: MotoServer;
const proxies: RegionProxy[] = [];
let n = 0;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await moto?.close();
});

/** A fresh bucket, its URL direct and through a proxy of its own (the test partitions it). */
async function bucket() {
  const name = `vmap-lock-${process.pid}-${++n}`;
  const direct = `${await moto.bucket(name)}/maps`;
  const proxy = await RegionProxy.listen("127.0.0.1", 0);
  proxies.push(proxy);
  const u = new URL(moto.url);
  proxy.setUpstream({ host: u.hostname, port: Number(u.port) });
  return { direct, proxy, proxied: `http://127.0.0.1:${proxy.port}/${name}/maps` };
}

const until = async <T>(what: string, f: () => T | undefined | Promise<T | undefined>): Promise<T> => {
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 25))) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
};

// The cases share only moto (each has its bucket and proxy) and mostly wait out leases: they run side by side.
describe.concurrent("S3 map store: one writer per bucket prefix (conditional-write lease)", () => {
  it("refuses a second writer; a partitioned writer's lease lapses, it refuses writes, a third takes over, and the first stays out", async () => {
    const { direct, proxy, proxied } = await bucket();
    const map = new VerifiableMap("balances");
    const first = new S3MapStore({ url: proxied, ...moto.creds, leaseMs: 3_000 });
    expect(await first.load("balances")).toBeNull();
    await first.record({ entry: map.apply([["a", Buffer.from("1")]]), logIndex: 0 }, () => map.entries());

    // The first keeps renewing: a second waits its lockWaitMs (past two lease periods) and is refused.
    const second = new S3MapStore({ url: direct, ...moto.creds, leaseMs: 3_000, lockWaitMs: 7_000 });
    await expect(second.load("balances")).rejects.toThrow(/another map service holds S3 map store .*\/maps \(its lease is held by .* pid \d+ and renewed\); one writer per bucket prefix/);
    await second.close();
    expect(await first.ping()).toBe(true);

    // A partition: the first cannot renew, so it stops trusting its lease, refuses writes, and /readyz would say why.
    proxy.setFault({ latencyMs: 0, jitterMs: 0, loss: 0, partitioned: true });
    const refused = await until("the first store to refuse", () => first.refusal() ?? undefined);
    expect(refused).toMatch(/the writer lease was lost \(not renewed within \d+ ms\)/);
    expect(await first.ping()).toBe(refused);
    const third = new S3MapStore({ url: direct, ...moto.creds, leaseMs: 3_000, lockWaitMs: 30_000 });
    expect((await third.load("balances"))?.batches.map((b) => b.entry.revision)).toEqual([1]);

    // Healed: the first still refuses (its lease is the third's now), and nothing of its next batch is stored.
    proxy.setFault({ latencyMs: 0, jitterMs: 0, loss: 0, partitioned: false });
    await expect(first.record({ entry: map.apply([["b", Buffer.from("2")]]), logIndex: 1 }, () => map.entries())).rejects.toThrow(/the writer lease was lost/);
    const fourth = new S3MapStore({ url: direct, ...moto.creds, leaseMs: 3_000, lockWaitMs: 0 });
    await expect(fourth.load("balances")).rejects.toThrow(/another map service holds/);
    await fourth.close();
    // The third writes on; closing releases the lease, so the next writer need not wait it out.
    const next = new VerifiableMap("balances");
    next.apply([["a", Buffer.from("1")]]);
    await third.record({ entry: next.apply([["c", Buffer.from("3")]]), logIndex: 1 }, () => next.entries());
    await third.close();
    await first.close();
    const after = new S3MapStore({ url: direct, ...moto.creds, leaseMs: 60_000, lockWaitMs: 0 });
    expect((await after.load("balances"))?.batches.map((b) => [b.entry.revision, b.entry.writes.map((w) => w[0])])).toEqual([
      [1, ["a"]],
      [2, ["c"]],
    ]);
    await after.close();
  });

  it("the map service refuses writes before logging them once its lease is lost, and /readyz says why", async () => {
    const { proxy, proxied } = await bucket();
    const operator = await localOperatorAuth(systemClock);
    const keys = generateKey("meridian.test/vmap-s3-lock");
    const log = await startLogServer({ origin: "meridian.test/vmap-s3-lock", signerKey: keys.signerKey, dataDir: mkdtempSync(join(tmpdir(), "vmap-s3-lock-log-")), port: 0, notice: () => undefined });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: moto.creds.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.creds.secretAccessKey });
    const svc = await startService(
      mapService,
      { maps: ["balances"], log: log.url, store: { s3: proxied, leaseMs: 3_000 }, server: { port: 0, auth: operator.auth } },
      { clock: systemClock, processMetrics: false },
    );
    try {
      const write = async (key: string) =>
        fetch(`${svc.url}/v1/maps/balances/writes`, {
          method: "POST",
          headers: { authorization: `Bearer ${await operator.token()}`, "content-type": "application/json" },
          body: JSON.stringify({ writes: [{ key, value: Buffer.from("1").toString("base64") }] }),
        });
      expect((await write("a")).status).toBe(200);
      expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
      const logged = log.log.size;
      proxy.setFault({ latencyMs: 0, jitterMs: 0, loss: 0, partitioned: true });
      const readyz = await until("/readyz to fail", async () => {
        const r = await fetch(`${svc.url}/readyz`);
        return r.status === 503 ? r.text() : undefined;
      });
      expect(readyz).toMatch(/the writer lease was lost/);
      const refused = await write("b");
      expect(refused.status).toBe(503);
      expect(await refused.text()).toMatch(/the writer lease was lost/);
      expect(((await (await fetch(`${svc.url}/v1/maps/balances/root`)).json()) as { revision: number }).revision).toBe(1);
      // Nothing reached the log: the refused batch was never appended.
      expect(log.log.size).toBe(logged);
    } finally {
      proxy.setFault({ latencyMs: 0, jitterMs: 0, loss: 0, partitioned: false });
      await svc.close();
      await log.app.close();
    }
  });

  it("refuses to start on a store that ignores conditional writes (s3rver), which could not keep a second writer out", async () => {
    const server = new S3rver({ port: 0, address: "127.0.0.1", directory: mkdtempSync(join(tmpdir(), "s3rver-lock-")), silent: true, configureBuckets: [{ name: "maps", configs: [] }] });
    const { port } = await server.run();
    try {
      const store = new S3MapStore({ url: `http://127.0.0.1:${port}/maps/prod`, accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
      await expect(store.load("m")).rejects.toThrow(/does not honour S3 conditional writes \(If-None-Match\)/);
      await store.close();
    } finally {
      await server.close();
    }
  });
});
