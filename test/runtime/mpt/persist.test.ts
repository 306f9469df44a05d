// `mpt serve` state that survives restarts and crashes: the file store (snapshot + fsynced journal) and the
// PostgreSQL store bring back the same root, every acknowledged key provable under it. Tries to break it with
// kill -9 of a spawned `meridian mpt serve` mid-writes, a torn journal tail, a flipped byte in a complete record,
// a damaged snapshot, rows altered behind the service's back, a second writer, and a store of another trie.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import pg from "pg";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { killServers, serveCli } from "../../cli.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { FileMptStore, MerklePatriciaTrie, mptService, recoverTrie, verifyProof } from "../../../runtime/mpt/index.js";

const FILE = fileURLToPath(new URL("../../testdata/ethereum-trietests/trieanyorder.json", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "mpt-persist-"));
const DB = "meridian_mpt_store_test";
const PG_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
let token = "";

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const b = (s: string) => Buffer.from(s.slice(2), "hex");
const key = (i: number) => `0x${(i % 37).toString(16).padStart(2, "0")}${"ab".repeat(i % 3)}`;
const value = (i: number) => (i % 9 === 8 ? null : `v${i}`); // every ninth write deletes

async function resetDb(): Promise<void> {
  const c = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${DB}`);
  await c.end();
}

beforeAll(async () => {
  auth = await localOperatorAuth(systemClock);
  token = await auth.token();
});
afterAll(() => {
  killServers();
  rmSync(tmp, { recursive: true, force: true });
});

const start = (config: Record<string, unknown>) => startService(mptService, { ...config, server: { port: 0, auth: auth.auth, log: { level: "silent" } } }, { processMetrics: false });
async function put(url: string, k: string, v: string | null) {
  const r = await fetch(`${url}/v1/mpt/keys/${encodeURIComponent(k)}`, {
    method: "PUT",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ value: v }),
  });
  const body = (await r.json()) as { root: string; revision: number; error?: string; detail?: string };
  if (r.status !== 200) throw new Error(`PUT ${k}: ${r.status} ${JSON.stringify(body)}`);
  return { root: body.root, revision: body.revision };
}
const rootOf = async (url: string) => (await (await fetch(`${url}/v1/mpt/root`)).json()) as { root: string; revision: number; secure: boolean };
/** The served proof of `k` verifies against `root` and gives `expected` (null: absent). */
async function expectProven(url: string, root: string, k: string, expected: string | null, secure = false) {
  const p = (await (await fetch(`${url}/v1/mpt/keys/${encodeURIComponent(k)}`)).json()) as { root: string; proof: string[] };
  expect(p.root).toBe(root);
  const got = verifyProof(b(root), b(k), p.proof.map(b), { secure });
  expect(got === null ? null : Buffer.from(got).toString()).toBe(expected);
}

describe("file store (in process)", () => {
  it("restores the same root and contents across snapshots, secure or plain (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 3 }), fc.option(fc.uint8Array({ minLength: 0, maxLength: 40 }))), { maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        async (ops, every, secure) => {
          const dir = mkdtempSync(join(tmp, "fc-"));
          const model = new MerklePatriciaTrie({ secure });
          const store = new FileMptStore(dir, every);
          await recoverTrie(store, new MerklePatriciaTrie({ secure }), false);
          let revision = 0;
          for (const [k, v] of ops) {
            model.put(k, v ?? new Uint8Array(0));
            await store.record({ revision: ++revision, trieKey: model.trieKeyOf(k), value: v && v.length > 0 ? v : null, root: model.rootHash() }, () => model.entries());
          }
          await store.close();
          const reopened = new FileMptStore(dir, every);
          const r = await recoverTrie(reopened, new MerklePatriciaTrie({ secure }), false);
          await reopened.close();
          expect(r.revision).toBe(ops.length);
          expect(hex(r.trie.rootHash())).toBe(hex(model.rootHash()));
          const get = (t: MerklePatriciaTrie, k: Uint8Array) => (t.get(k) ? hex(t.get(k)!) : null);
          for (const [k] of ops) expect(get(r.trie, k)).toBe(get(model, k));
          rmSync(dir, { recursive: true });
        },
      ),
      { numRuns: 40 },
    );
  });

  it("sets a torn journal tail aside (kept in quarantine) and comes back at the last acknowledged root", async () => {
    const dir = join(tmp, "torn");
    const svc = await start({ store: { dir } });
    let last = { root: "", revision: 0 };
    for (let i = 0; i < 5; i++) last = await put(svc.url, key(i), `v${i}`);
    await svc.close();
    const torn = Buffer.from([0x4d, 0x4c, 0x4a, 0x31, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0]); // a record's first bytes: its write was cut short
    appendFileSync(join(dir, "journal"), torn);
    const again = await start({ store: { dir } });
    expect(await rootOf(again.url)).toMatchObject(last);
    for (let i = 0; i < 5; i++) await expectProven(again.url, last.root, key(i), `v${i}`);
    const q = readdirSync(join(dir, "quarantine"));
    expect(q).toHaveLength(1);
    expect(readFileSync(join(dir, "quarantine", q[0]!))).toEqual(torn);
    expect((await put(again.url, key(5), "v5")).revision).toBe(6);
    await again.close();
  });

  it("refuses to start on a damaged store, naming the file and what is wrong", async () => {
    const dir = join(tmp, "damaged");
    const svc = await start({ store: { dir } });
    for (let i = 0; i < 4; i++) await put(svc.url, key(i), `v${i}`);
    await svc.close();
    const journal = join(dir, "journal");
    const snapshot = join(dir, "snapshot.json");
    const good = { journal: readFileSync(journal), snapshot: readFileSync(snapshot, "utf8") };

    // Where each journal record starts (header: 24 bytes, payload length at byte 16).
    const starts = [0];
    while (starts.at(-1)! < good.journal.length) starts.push(starts.at(-1)! + 24 + good.journal.readUInt32BE(starts.at(-1)! + 16));
    expect(starts).toHaveLength(5);

    // A flipped byte inside a complete record (the second one): it may hold an acknowledged change.
    const flipped = Buffer.from(good.journal);
    flipped[starts[1]! + 30]! ^= 0x01;
    writeFileSync(journal, flipped);
    await expect(start({ store: { dir } })).rejects.toThrow(new RegExp(`journal: the record at byte ${starts[1]} \\(entries 2\\.\\.2 by its header\\) fails its CRC`));
    // A record missing from the middle: a gap in revisions.
    writeFileSync(journal, Buffer.concat([good.journal.subarray(0, starts[1]), good.journal.subarray(starts[2])]));
    await expect(start({ store: { dir } })).rejects.toThrow(/is revision 3, but the store is at revision 1: revisions 2\.\.2 are missing/);
    writeFileSync(journal, good.journal);

    // The snapshot cut short, or its entries altered: refused, not served.
    writeFileSync(snapshot, good.snapshot.slice(0, good.snapshot.length - 5));
    await expect(start({ store: { dir } })).rejects.toThrow(/snapshot\.json is not a snapshot this service wrote/);
    writeFileSync(snapshot, good.snapshot.replace(/"root":"[0-9a-f]{2}/, '"root":"00'));
    await expect(start({ store: { dir } })).rejects.toThrow(/the stored entries hash to 0x[0-9a-f]{64}, not the root 0x00[0-9a-f]{62} recorded for revision 0: the store is corrupt/);
    rmSync(snapshot);
    await expect(start({ store: { dir } })).rejects.toThrow(/snapshot\.json, which they follow, is missing/);
    writeFileSync(snapshot, good.snapshot);
    const ok = await start({ store: { dir } });
    expect((await rootOf(ok.url)).revision).toBe(4);
    await ok.close();
  });

  it("one process per directory, and a store of another trie is refused", async () => {
    const dir = join(tmp, "owned");
    const svc = await start({ file: FILE, case: "puppy", store: { dir } });
    await expect(start({ file: FILE, case: "puppy", store: { dir } })).rejects.toThrow(/refusing to start: .*owned is in use by this process/);
    await svc.close();
    await expect(start({ file: FILE, case: "puppy", secure: true, store: { dir } })).rejects.toThrow(/holds a plain \(non-secure\) trie; drop --secure/);
    await expect(start({ file: FILE, case: "dogs", store: { dir } })).rejects.toThrow(
      /was started from a trie with root 0x5991bb8c.*; FILE's is 0x8aad789d.*: serve it without FILE, or give a new store/,
    );
    const noFile = await start({ store: { dir } }); // the store remembers the case it was started from
    expect((await rootOf(noFile.url)).root).toBe("0x5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84");
    await noFile.close();
  });
});

describe("PostgreSQL store", () => {
  beforeAll(resetDb);

  it("restores the same root from its rows, refuses a second writer and rows altered behind its back", async () => {
    const svc = await start({ file: FILE, case: "puppy", secure: true, store: { postgres: PG_URL } });
    let last = { root: "", revision: 0 };
    for (let i = 0; i < 12; i++) last = await put(svc.url, key(i), value(i));
    await expect(start({ secure: true, store: { postgres: PG_URL } })).rejects.toThrow(/another mpt serve holds this database's trie \(PostgreSQL advisory lock\)/);
    await svc.close();

    const again = await start({ secure: true, store: { postgres: PG_URL } });
    expect(await rootOf(again.url)).toEqual({ ...last, secure: true });
    const model = new Map<string, string | null>();
    for (let i = 0; i < 12; i++) model.set(key(i), value(i));
    for (const [k, v] of model) await expectProven(again.url, last.root, k, v, true);
    await expectProven(again.url, last.root, "0x646f67", "puppy", true); // from the case the store was started from
    await again.close();

    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query("UPDATE mpt_entries SET value = '\\x7878' WHERE key = (SELECT key FROM mpt_entries ORDER BY key LIMIT 1)");
    await c.end();
    await expect(start({ secure: true, store: { postgres: PG_URL } })).rejects.toThrow(
      /PostgreSQL trie store: the stored entries hash to 0x[0-9a-f]{64}, not the root 0x[0-9a-f]{64} recorded for revision 12: the store is corrupt/,
    );
  });
});

describe("the store failing under a running service", () => {
  beforeAll(resetDb);

  it("a change the store did not record is refused (503) and not served; writes stay refused until a restart reads the store back", async () => {
    // PostgreSQL drops the service's connections, the one holding the advisory lock included.
    const svc = await start({ store: { postgres: PG_URL } });
    let last = { root: "", revision: 0 };
    for (let i = 0; i < 5; i++) last = await put(svc.url, key(i), `v${i}`);
    const c = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
    await c.connect();
    await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [DB]); // as a database restart would
    while ((await c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1", [DB])).rowCount! > 0) await new Promise((r) => setTimeout(r, 20));
    await c.end();
    // The pool reconnects, but the connection that held the single-writer lock is gone: another process may hold it.
    await expect(put(svc.url, key(5), "v5")).rejects.toThrow(/503 .*"error":"trie store unavailable".*failed to record revision 6 /);
    expect(await rootOf(svc.url)).toEqual({ ...last, secure: false });
    await expectProven(svc.url, last.root, key(5), null);
    await expect(put(svc.url, key(6), "v6")).rejects.toThrow(/503 .*restart the service to read back what it holds/);
    await svc.close();
    const again = await start({ store: { postgres: PG_URL } });
    expect((await rootOf(again.url)).root).toBe(last.root);
    expect((await put(again.url, key(5), "v5")).revision).toBe(6);
    await again.close();
  });
});

describe("kill -9 of a spawned `meridian mpt serve` mid-writes", () => {
  for (const kind of ["file", "postgres"] as const) {
    it(`${kind} store: the restart serves the last acknowledged root (or the in-flight one), every acknowledged key provable`, async () => {
      if (kind === "postgres") await resetDb();
      const config = join(tmp, `kill-${kind}.json`);
      writeFileSync(config, JSON.stringify({ server: { port: 0, auth: auth.auth, log: { level: "warn" } } }));
      const args = ["mpt", "serve", "--config", config, ...(kind === "file" ? ["--data", join(tmp, "kill")] : ["--postgres", PG_URL])];
      const first = await serveCli(args);
      const model = new Map<string, string | null>();
      let acked: { root: string; revision: number } | undefined;
      let i = 0; // the write in flight when the process died
      try {
        for (; ; i++) {
          const pending = put(first.url, key(i), value(i));
          if (i === 60) first.child.kill("SIGKILL"); // while a write is in flight
          acked = await pending;
          model.set(key(i), value(i));
        }
      } catch {
        // cut off by the crash: the write in flight may or may not have been recorded
      }
      expect(acked?.revision).toBe(i);
      expect(i).toBeGreaterThanOrEqual(60);
      const second = await serveCli(args);
      const now = await rootOf(second.url);
      expect([i, i + 1]).toContain(now.revision);
      if (now.revision === i) expect(now.root).toBe(acked?.root);
      else model.set(key(i), value(i)); // the in-flight write was durable before the kill
      const scratch = new MerklePatriciaTrie();
      for (const [k, v] of model) if (v !== null) scratch.put(b(k), Buffer.from(v));
      expect(now.root).toBe(hex(scratch.rootHash()));
      for (const [k, v] of model) await expectProven(second.url, now.root, k, v);
      expect((await put(second.url, "0xfeed", "after")).revision).toBe(now.revision + 1);
      second.child.kill("SIGTERM");
      await new Promise((res) => second.child.once("exit", res));
      if (kind === "file") expect(existsSync(join(tmp, "kill", "mpt.lock"))).toBe(false); // released on a clean stop
    });
  }
});
