// Group commit over HTTP (runtime/vmap/service.ts + group-commit.ts): while the proof log holds one batch's append,
// concurrent writers queue and are merged into ONE next batch (one log entry, one revision, one root for all), each
// answered only once it is durable; a forbidden or malformed request is refused alone, at once, without failing its
// batch-mates; a full queue answers 503 with Retry-After instead of growing. A proxy in front of a real log holds appends.
// kill -9 of a `map serve` child under concurrent writers: no acknowledged write lost, no batch half-visible.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, serveCli } from "../../cli.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { generateKey, LogClient, parseCheckpoint, parseSignedNote } from "../../../runtime/prooflog/index.js";
import { startLogServer, type TransparencyLog } from "../../../runtime/prooflog/services.js";
import { decodeMapEntry, MapClient, VerifiableMap, type MapWrite } from "../../../runtime/vmap/index.js";
import { mapService } from "../../../runtime/vmap/services.js";

const ORIGIN = "meridian.test/vmap-batching";
const tmp = mkdtempSync(join(tmpdir(), "vmap-batching-"));
let logServer: { app: { close(): Promise<void> }; url: string; log: TransparencyLog };
let auth: Awaited<ReturnType<typeof localOperatorAuth>>;

/** The log behind a proxy that, while `hold` is set, keeps each append until `release()`. */
async function holdingProxy(target: string) {
  let hold = false;
  const held: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const forward = async () => {
        const r = await fetch(`${target}${req.url}`, { method: req.method, body: req.method === "POST" ? Buffer.concat(chunks) : undefined });
        res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/octet-stream" }).end(Buffer.from(await r.arrayBuffer()));
      };
      if (hold && req.method === "POST" && req.url === "/add") held.push(() => void forward());
      else void forward();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    hold: () => void (hold = true),
    release: () => {
      hold = false;
      for (const f of held.splice(0)) f();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(async () => {
  logServer = await startLogServer({ origin: ORIGIN, signerKey: generateKey(ORIGIN).signerKey, dataDir: join(tmp, "log"), port: 0, checkpointIntervalMs: 20 });
  auth = await localOperatorAuth(systemClock);
});
afterAll(async () => {
  killServers();
  await logServer.app.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Poll until `cond` holds; a generous bound turns a hang into a failure naming what never happened. */
async function until(cond: () => Promise<boolean> | boolean, what = "condition"): Promise<void> {
  for (let i = 0; !(await cond()); i++) {
    if (i > 3000) throw new Error(`${what} never held`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const queued = async (url: string, map: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  if (!text.includes("meridian_vmap_queued_writes")) throw new Error(`no queue gauge in /metrics: ${text.slice(0, 300)}`);
  return Number(new RegExp(`^meridian_vmap_queued_writes\\{[^}]*map="${map}"[^}]*\\} (\\d+)$`, "m").exec(text)?.[1] ?? "0");
};

describe("group commit over HTTP", () => {
  it("merges writers queued behind an in-flight batch into one logged batch; bad requests are refused alone", async () => {
    const proxy = await holdingProxy(logServer.url);
    const svc = await startService(
      mapService,
      {
        maps: ["balances", "quota"],
        log: proxy.url,
        store: { dir: join(tmp, "store") },
        writers: { balances: { scope: "balances.write" }, quota: { scope: "quota.write" } },
        server: { port: 0, auth: auth.auth },
      },
      { clock: systemClock, processMetrics: false },
    );
    try {
      const balances = new MapClient(svc.url, { headers: { authorization: `Bearer ${await auth.token({ scope: "balances.write" })}` } });
      const quotaWriter = new MapClient(svc.url, { headers: { authorization: `Bearer ${await auth.token({ scope: "quota.write" })}` } });
      proxy.hold();
      const first = balances.write("balances", [["acct:0", Buffer.from("0")]]);
      await until(() => proxy.held.length === 1, "an append held"); // batch 1 is in flight: its append is held
      const writes: MapWrite[][] = Array.from({ length: 12 }, (_, i) => [
        [`acct:${i + 1}`, Buffer.from(`v${i}`)],
        ["hot", Buffer.from(`h${i}`)], // every writer writes "hot": the last to arrive wins
      ]);
      const acks: Promise<{ revision: number; root: string; logIndex: number | null }>[] = [];
      let proven: Awaited<ReturnType<MapClient["writeProven"]>> | undefined;
      for (const w of writes) {
        // One writer asks for a proof of its keys against its batch's root (verified by the client).
        acks.push(
          acks.length === 5
            ? balances.writeProven("balances", w).then((p) => ((proven = p), { map: "balances", revision: p.revision, root: p.root, logIndex: p.logIndex }))
            : balances.write("balances", w),
        );
        await until(async () => (await queued(svc.url, "balances")) === 2 * acks.length, `${2 * acks.length} writes queued`); // arrival order = this order
      }
      // Refused at once, while the batch they would join is still waiting: another map's writer, a bad key, a huge value.
      await expect(quotaWriter.write("balances", [["acct:99", Buffer.from("x")]])).rejects.toThrow(/HTTP 403 .*may not write map balances/);
      await expect(balances.write("balances", [["k".repeat(33), Buffer.from("x")]])).rejects.toThrow(/HTTP 400 .*1\.\.32 bytes/);
      await expect(balances.write("balances", [["acct:98", Buffer.alloc(70_000)]])).rejects.toThrow(/HTTP 400 .*at most 65536/);
      await expect(balances.write("balances", [["acct:97", Buffer.alloc(60_000)]])).rejects.toThrow(/HTTP 413 .*fit one proof-log entry/);
      expect(await queued(svc.url, "balances")).toBe(24);
      proxy.release();
      const a1 = await first;
      const rest = await Promise.all(acks);
      expect(a1.revision).toBe(1);
      // One batch for all twelve: one revision, one root, one log entry.
      expect(new Set(rest.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ ...rest[0], revision: 2 })]));
      const model = new VerifiableMap("balances");
      model.apply([["acct:0", Buffer.from("0")]]);
      for (const w of writes) model.apply(w); // one writer at a time, in arrival order
      expect(rest[0]!.root).toBe(Buffer.from(model.root()).toString("base64"));
      const hot = await balances.read("balances", "hot", rest[0]!.root); // proven against the batch's root
      expect(hot.value?.toString()).toBe("h11");
      expect(proven!.root).toBe(rest[0]!.root);
      expect([...proven!.values].map(([k, v]) => [k, v?.toString()])).toEqual([
        ["acct:6", "v5"],
        ["hot", "h11"], // the batch's value: a later writer in the same batch wrote it last
      ]);
      const log = new LogClient(logServer.url);
      let size = 0;
      while (size <= rest[0]!.logIndex!) size = parseCheckpoint(parseSignedNote(await log.checkpoint()).text).size;
      const entry = decodeMapEntry(await log.entry(rest[0]!.logIndex!, size))!;
      expect([entry.revision, entry.writes.length]).toEqual([2, 24]);
      const m = await (await fetch(`${svc.url}/metrics`)).text();
      expect(m).toMatch(/^meridian_vmap_batches_total\{[^}]*map="balances"[^}]*\} 2$/m);
      expect(m).toMatch(/^meridian_vmap_batched_writes_total\{[^}]*map="balances"[^}]*\} 25$/m);
    } finally {
      proxy.release();
      await svc.close();
      await proxy.close();
    }
  });

  it("answers 503 with Retry-After once a map's queue is full, and serves every queued writer once the log answers", async () => {
    const proxy = await holdingProxy(logServer.url);
    const svc = await startService(
      mapService,
      { maps: ["q"], log: proxy.url, writers: { q: { scope: "q.write" } }, batch: { maxQueuedWrites: 1000 }, server: { port: 0, auth: auth.auth } },
      { clock: systemClock, processMetrics: false },
    );
    try {
      const token = await auth.token({ scope: "q.write" });
      const writer = new MapClient(svc.url, { headers: { authorization: `Bearer ${token}` } });
      const many = (tag: string): [string, Buffer][] => Array.from({ length: 400 }, (_, i) => [`${tag}${i}`, Buffer.from("1")]);
      proxy.hold();
      const inFlight = writer.write("q", many("a"));
      await until(() => proxy.held.length === 1);
      const waiting = [writer.write("q", many("b")), writer.write("q", many("c"))];
      await until(async () => (await queued(svc.url, "q")) === 800);
      const res = await fetch(`${svc.url}/v1/maps/q/writes`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ writes: many("d").map(([key]) => ({ key, value: "MQ==" })) }),
      });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await res.text()).toMatch(/800 writes are already waiting for this map \(at most 1000\)/);
      expect(await queued(svc.url, "q")).toBe(800);
      proxy.release();
      expect((await inFlight).revision).toBe(1);
      expect((await Promise.all(waiting)).map((a) => a.revision)).toEqual([2, 2]);
      expect((await writer.readPrefix("q", "c")).entries.length).toBe(400);
      expect((await writer.readPrefix("q", "d")).entries.length).toBe(0);
    } finally {
      proxy.release();
      await svc.close();
      await proxy.close();
    }
  });
});

describe("kill -9 of `map serve` under concurrent writers", () => {
  it("loses no acknowledged write, shows no part of an unacknowledged batch, and its store and the log agree on the root", async () => {
    const map = `kill${process.pid}x${Date.now()}`;
    const token = await auth.token({ scope: "kill.write" });
    const conf = (log: string | undefined) => {
      const file = join(tmp, `kill-${log ? "log" : "nolog"}.json`);
      writeFileSync(
        file,
        JSON.stringify({ maps: [map], log, store: { dir: join(tmp, "kill-store") }, writers: { [map]: { scope: "kill.write" } }, server: { port: 0, auth: auth.auth, log: { level: "warn" } } }),
      );
      return file;
    };
    const first = await serveCli(["map", "serve", "--config", conf(logServer.url)]);
    const w = new MapClient(first.url, { headers: { authorization: `Bearer ${token}` } });
    const request = (i: number, j: number): MapWrite[] => [
      [`w${i}.${j}a`, Buffer.from(`${i}.${j}`)],
      [`w${i}.${j}b`, Buffer.from(`${i}.${j}`)],
      ["hot", Buffer.from(`${i}.${j}`)], // every writer: conflicting writes within each batch
    ];
    const sent: [number, number][] = [];
    const acked: { i: number; j: number; revision: number; root: string }[] = [];
    let killed = false;
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        for (let j = 0; ; j++) {
          sent.push([i, j]);
          try {
            acked.push({ i, j, ...(await w.write(map, request(i, j))) });
          } catch {
            return; // cut off by the crash (or refused while it happened): may or may not be recorded
          }
          if (!killed && acked.length >= 80) {
            killed = true;
            first.child.kill("SIGKILL"); // other writers' batches are in flight
          }
        }
      }),
    );
    expect(acked.length).toBeGreaterThanOrEqual(80);
    expect(new Set(acked.map((a) => a.revision)).size).toBeLessThan(acked.length); // writers shared batches

    const second = await serveCli(["map", "serve", "--config", conf(logServer.url)]);
    const r = new MapClient(second.url);
    const now = await r.root(map);
    // The log's entries for this map, replayed from nothing, reproduce the restarted service's root.
    const log = new LogClient(logServer.url);
    let size = 0;
    while (size <= now.logIndex!) size = parseCheckpoint(parseSignedNote(await log.checkpoint()).text).size;
    const model = new VerifiableMap(map);
    for (const e of await log.entries(0, size, size)) {
      const d = decodeMapEntry(e);
      if (d?.map === map && d.revision === model.revision + 1) model.replay(d);
    }
    expect([model.revision, Buffer.from(model.root()).toString("base64")]).toEqual([now.revision, now.root]);
    expect(Math.max(...acked.map((a) => a.revision))).toBeLessThanOrEqual(now.revision);
    // Every acknowledged write is there; of the rest, each request is there whole or not at all.
    for (const [i, j] of sent) {
      const got = await r.readMany(map, [`w${i}.${j}a`, `w${i}.${j}b`], now.root); // verified against the root
      const values = got.values.map((v) => v?.toString() ?? null);
      if (acked.some((a) => a.i === i && a.j === j)) expect(values).toEqual([`${i}.${j}`, `${i}.${j}`]);
      else expect([JSON.stringify([null, null]), JSON.stringify([`${i}.${j}`, `${i}.${j}`])]).toContain(JSON.stringify(values));
    }
    second.child.kill("SIGTERM");
    await new Promise((res) => second.child.once("exit", res));
    // The store alone (no log to catch up from) holds the same revision and root.
    const third = await serveCli(["map", "serve", "--config", conf(undefined)]);
    expect(await new MapClient(third.url).root(map)).toEqual({ map, ...now, logIndex: now.logIndex });
    third.child.kill("SIGTERM");
    await new Promise((res) => third.child.once("exit", res));
  });
});
