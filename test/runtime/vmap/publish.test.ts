// Readers see only logged state: the map service publishes a revision — its root, proofs and log index — only once
// the proof log holds its entry. A proxy in front of a real log holds, delays or fails appends; readers polling the
// root, single-key and batch proofs meanwhile must only ever see a revision whose entry the log has acknowledged at
// the index named, and after a failed append the store and memory agree on the previous revision.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { startLogServer, type TransparencyLog } from "../../../runtime/prooflog/services.js";
import { decodeMapEntry, MapClient, VerifiableMap, verifyMapBatch, verifyMapRead, type MapWrite } from "../../../runtime/vmap/index.js";
import { mapService } from "../../../runtime/vmap/services.js";

const ORIGIN = "meridian.test/vmap-publish";
const tmp = mkdtempSync(join(tmpdir(), "vmap-publish-"));
let logServer: { app: { close(): Promise<void> }; url: string; log: TransparencyLog };
let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
let token = "";

type Logged = { map: string; revision: number; root: string };

/**
 * The proof log behind a proxy that decides each append: pass it on, hold it until told, or fail it (503, never
 * forwarded — the log does not have it). `acked` is every entry the log acknowledged, by index, recorded before the
 * map service sees the acknowledgement: what a reader is shown must already be there.
 */
async function logProxy(target: string) {
  const acked = new Map<number, Logged>();
  const held: { pass(): void; fail(): void }[] = [];
  let mode: "pass" | "hold" | "drop" | ((n: number) => "pass" | "fail" | number) = "pass";
  let adds = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const forward = async (answer = true) => {
        const r = await fetch(`${target}${req.url}`, {
          method: req.method,
          body: req.method === "POST" ? body : undefined,
          headers: { "content-type": req.headers["content-type"] ?? "application/octet-stream" },
        });
        const out = Buffer.from(await r.arrayBuffer());
        if (req.method === "POST" && req.url === "/add" && r.ok) {
          const e = decodeMapEntry(body);
          if (e) acked.set((JSON.parse(out.toString()) as { index: number }).index, { map: e.map, revision: e.revision, root: Buffer.from(e.root).toString("base64") });
        }
        if (!answer) return void res.socket?.destroy(); // the log has it; the map service never hears so
        res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/octet-stream" }).end(out);
      };
      const fail = () => res.writeHead(503, { "content-type": "text/plain" }).end("log unavailable (test proxy)");
      if (req.method !== "POST" || req.url !== "/add" || mode === "pass") return void forward();
      if (mode === "drop") return void forward(false);
      if (mode === "hold") return void held.push({ pass: () => void forward(), fail });
      const d = mode(adds++);
      if (d === "fail") return void fail();
      if (d === "pass") return void forward();
      setTimeout(() => void forward(), d); // a slow log: the append takes d ms
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    acked,
    held,
    set(m: typeof mode) {
      mode = m;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Every state a reader can see must be logged: the root's index holds that revision and root; proofs are against a logged root. */
async function observe(url: string, map: string, acked: Map<number, Logged>): Promise<number> {
  const loggedAt = (revision: number, root: string) => [...acked.values()].some((a) => a.map === map && a.revision === revision && a.root === root);
  const head = (await (await fetch(`${url}/v1/maps/${map}/root`)).json()) as { revision: number; root: string; logIndex: number | null };
  if (head.revision > 0) expect({ at: head.logIndex, logged: acked.get(head.logIndex!) ?? null }).toEqual({ at: head.logIndex, logged: { map, revision: head.revision, root: head.root } });
  const one = (await (await fetch(`${url}/v1/maps/${map}/keys/acct:1`)).json()) as { value: string | null; revision: number; root: string; proof: (string | null)[] };
  const unb64 = (s: string | null) => (s === null ? null : Buffer.from(s, "base64"));
  expect(verifyMapRead(Buffer.from(one.root, "base64"), "acct:1", unb64(one.value), one.proof.map(unb64))).toBe(true);
  if (one.revision > 0) expect({ revision: one.revision, logged: loggedAt(one.revision, one.root) }).toEqual({ revision: one.revision, logged: true });
  const keys = ["acct:1", "acct:2", "acct:3"];
  const many = (await (await fetch(`${url}/v1/maps/${map}/proofs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ keys }) })).json()) as {
    values: (string | null)[];
    revision: number;
    root: string;
    proof: (string | null)[];
  };
  expect(verifyMapBatch(Buffer.from(many.root, "base64"), keys, many.values.map(unb64), many.proof.map(unb64))).toBe(true);
  if (many.revision > 0) expect({ revision: many.revision, logged: loggedAt(many.revision, many.root) }).toEqual({ revision: many.revision, logged: true });
  return head.revision;
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};
const batch = (i: number): MapWrite[] => [
  [`acct:${(i % 3) + 1}`, Buffer.from(`v${i}`)],
  [`acct:${(i % 5) + 1}`, i % 4 === 3 ? null : Buffer.from(`w${i}`)],
];

beforeAll(async () => {
  logServer = await startLogServer({ origin: ORIGIN, signerKey: generateKey(ORIGIN).signerKey, dataDir: join(tmp, "log"), port: 0, checkpointIntervalMs: 20 });
  auth = await localOperatorAuth(systemClock);
  token = await auth.token({ scope: "meridian.vmap.write" });
});
afterAll(async () => {
  await logServer.app.close();
  rmSync(tmp, { recursive: true, force: true });
});

// Each test its own map (the log is shared, and a service with a fresh store replays every map entry in it).
const start = (map: string, log: string | undefined, dir: string) =>
  startService(
    mapService,
    { maps: [map], log, store: { dir }, writers: { [map]: { scope: "meridian.vmap.write" } }, server: { port: 0, auth: auth.auth } },
    { clock: systemClock, processMetrics: false },
  );

describe("map service publishes only logged state", () => {
  it("while an append is held readers see the previous revision; a failed append leaves store and memory on it", { timeout: 60_000 }, async () => {
    const proxy = await logProxy(logServer.url);
    const dir = join(tmp, "held");
    const svc = await start("m", proxy.url, dir);
    const w = new MapClient(svc.url, { headers: { authorization: `Bearer ${token}` } });
    try {
      const r1 = await w.write("m", batch(1));
      proxy.set("hold");
      const pending = w.write("m", batch(2));
      await until(() => proxy.held.length === 1); // the batch is with the log, not yet acknowledged
      for (let i = 0; i < 5; i++) expect(await observe(svc.url, "m", proxy.acked)).toBe(r1.revision);
      proxy.held.shift()!.pass();
      const r2 = await pending;
      expect(await observe(svc.url, "m", proxy.acked)).toBe(r2.revision);

      const slowThenFailed = w.write("m", batch(3));
      await until(() => proxy.held.length === 1);
      expect(await observe(svc.url, "m", proxy.acked)).toBe(r2.revision);
      proxy.held.shift()!.fail();
      await expect(slowThenFailed).rejects.toThrow(/HTTP 503.*not recorded, so it was not applied/);
      expect(await observe(svc.url, "m", proxy.acked)).toBe(r2.revision);
      expect(await w.root("m")).toEqual(r2);
      proxy.set("pass");
      const r3 = await w.write("m", batch(4)); // the next batch takes the revision the failed one never had
      expect([r3.revision, proxy.acked.get(r3.logIndex!)]).toEqual([3, { map: "m", revision: 3, root: r3.root }]);
    } finally {
      for (const h of proxy.held.splice(0)) h.fail(); // a failed assertion must not leave the close waiting on the log
      await svc.close();
    }
    // The store holds what memory held: revision 3, with the failed batch nowhere (restart from the store alone).
    const again = await start("m", undefined, dir);
    try {
      const model = new VerifiableMap("m");
      for (const i of [1, 2, 4]) model.apply(batch(i));
      const head = await new MapClient(again.url).root("m");
      expect([head.revision, head.root]).toEqual([3, Buffer.from(model.root()).toString("base64")]);
    } finally {
      await again.close();
      await proxy.close();
    }
  });

  it("an append the log took but never answered is logged again before the next write, not forked by it", { timeout: 60_000 }, async () => {
    const proxy = await logProxy(logServer.url);
    const svc = await start("lost", proxy.url, join(tmp, "lost"));
    const w = new MapClient(svc.url, { headers: { authorization: `Bearer ${token}` } });
    try {
      const r1 = await w.write("lost", batch(1));
      proxy.set("drop");
      await expect(w.write("lost", batch(2))).rejects.toThrow(/HTTP 503.*did not answer for lost revision 2.*may hold it/);
      expect(await observe(svc.url, "lost", proxy.acked)).toBe(r1.revision); // the log has revision 2; readers are not shown it yet
      await expect(w.write("lost", batch(3))).rejects.toThrow(/did not answer for lost revision 2/); // still unanswered: nothing new staged
      proxy.set("pass");
      const r3 = await w.write("lost", batch(4));
      const model = new VerifiableMap("lost");
      for (const i of [1, 2, 4]) model.apply(batch(i));
      expect([r3.revision, r3.root]).toEqual([3, Buffer.from(model.root()).toString("base64")]);
      expect(await observe(svc.url, "lost", proxy.acked)).toBe(3);
      // One root per revision in the log (revision 2 may be there twice, identical), revisions 1..3 with no gap.
      const roots = new Map<number, Set<string>>();
      for (const a of proxy.acked.values()) if (a.map === "lost") roots.set(a.revision, (roots.get(a.revision) ?? new Set()).add(a.root));
      expect([...roots.entries()].sort(([a], [b]) => a - b).map(([rev, set]) => [rev, set.size])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
      ]);
    } finally {
      await svc.close();
    }
    // A service rebuilt from the log alone (a fresh store) reaches the same head.
    const rebuilt = await start("lost", proxy.url, join(tmp, "lost-rebuilt"));
    try {
      const head = await new MapClient(rebuilt.url).root("lost");
      expect(head.revision).toBe(3);
    } finally {
      await rebuilt.close();
      await proxy.close();
    }
  });

  it("readers polling alongside concurrent writers and a slow log that fails some appends never see an unlogged revision", { timeout: 120_000 }, async () => {
    const proxy = await logProxy(logServer.url);
    const svc = await start("busy", proxy.url, join(tmp, "busy"));
    try {
      // Every third append fails; the others take 1–15 ms.
      proxy.set((n) => (n % 3 === 2 ? "fail" : 1 + ((n * 7) % 15)));
      let writing = true;
      const writers = [0, 1, 2].map(async (id) => {
        const w = new MapClient(svc.url, { headers: { authorization: `Bearer ${token}` } });
        for (let i = 0; i < 10; i++) await w.write("busy", batch(id * 100 + i)).catch((e: Error) => expect(e.message).toMatch(/HTTP 503/));
      });
      let seen = 0;
      const readers = [0, 1].map(async () => {
        while (writing) {
          await observe(svc.url, "busy", proxy.acked);
          seen++;
        }
      });
      await Promise.all([Promise.all(writers).finally(() => (writing = false)), ...readers]);
      expect(seen).toBeGreaterThan(0);
      // The log holds revisions 1..n once each, no gaps: failed appends took no revision, and they replay to the head.
      const logged = [...proxy.acked.entries()].filter(([, a]) => a.map === "busy").sort(([a], [b]) => a - b);
      expect(logged.map(([, a]) => a.revision)).toEqual(logged.map((_, i) => i + 1));
      const head = await new MapClient(svc.url).root("busy");
      expect([head.revision, head.root, head.logIndex]).toEqual([logged.length, logged.at(-1)![1].root, logged.at(-1)![0]]);
    } finally {
      await svc.close();
      await proxy.close();
    }
  });
});
