// The attestation registry's meaning (core/registry.ts) and its stores. Properties: replaying the log's suffix
// from any earlier catch-up point over a newer state ends in the state the whole history gives (what recovery
// from a stale store relies on), and a revoked AK never comes back by any later enrolment or clock. The file and
// PostgreSQL stores load exactly what `applyChange` makes of the same changes; the file store refuses a damaged
// file and a second process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import pg from "pg";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyChange, emptyRegistry, type RegistryChange, type RegistryState } from "../../../runtime/attest/core/registry.js";
import { FileRegistryStore } from "../../../runtime/attest/store/registry-file.js";
import { PostgresRegistryStore } from "../../../runtime/attest/store/registry-postgres.js";
import type { RegistryStore } from "../../../runtime/attest/store/registry-port.js";

const DB = `meridian_attest_registry_${process.pid}`;
const ADMIN = "postgres://postgres@127.0.0.1:5432/postgres";
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "meridian-attest-registry-"));
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${DB}`);
  await c.end();
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await c.end();
});

const node = fc.constantFrom("n1", "n2", "n3");
const fp = fc.constantFrom("aa", "bb", "cc", "dd");
const change: fc.Arbitrary<RegistryChange> = fc.oneof(
  fc.record({ kind: fc.constant("enrol" as const), node, fingerprint: fp, at: fc.nat(1000) }).map((c) => ({ ...c, ak: `PEM of ${c.fingerprint}` })),
  fc.record({ kind: fc.constant("revoke" as const), node, fingerprint: fp, at: fc.nat(1000), by: fc.constantFrom("jwt:alice", "spiffe://td/op"), reason: fc.constantFrom("lost", "compromised") }),
  fc.record({
    kind: fc.constant("clock" as const),
    fingerprint: fp,
    anchor: fc.record({ clock: fc.nat().map(String), at: fc.nat(), resetCount: fc.nat(5), restartCount: fc.nat(5), last: fc.nat().map(String) }),
  }),
  fc.record({ kind: fc.constant("result" as const), node, note: fc.string({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant("caught-up" as const), logSize: fc.nat(100) }),
);
const run = (cs: readonly RegistryChange[], s: RegistryState = emptyRegistry()) => {
  for (const c of cs) applyChange(s, c);
  return s;
};
const plain = (s: RegistryState) => ({
  enrolled: Object.fromEntries(s.enrolled),
  revoked: Object.fromEntries(s.revoked),
  clocks: Object.fromEntries(s.clocks),
  results: Object.fromEntries(s.results),
  logSize: s.logSize,
});

describe("registry changes", () => {
  it("replaying the suffix after any earlier point over a newer state converges to the whole history's state", () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), fc.nat(), fc.nat(), (cs, a, b) => {
        const k = cs.length === 0 ? 0 : a % (cs.length + 1);
        const j = k === 0 ? 0 : b % (k + 1); // the stale store's catch-up point j ≤ k, the state it holds
        const caughtUp = run(cs.slice(j), run(cs.slice(0, k)));
        expect(plain(caughtUp)).toEqual(plain(run(cs)));
      }),
      { numRuns: 500 },
    );
  });

  it("a node's re-enrolment with an AK revoked later still retires its earlier AK when a stale store replays it", () => {
    // fast-check's counterexample: n3 moved from dd to cc, then cc was revoked; replaying the enrolments over that state
    // used to refuse the cc enrolment and leave n3 enrolled with dd, an AK the whole history had retired.
    const cs: RegistryChange[] = [
      { kind: "enrol", node: "n3", fingerprint: "dd", at: 0, ak: "PEM of dd" },
      { kind: "enrol", node: "n3", fingerprint: "cc", at: 1, ak: "PEM of cc" },
      { kind: "revoke", node: "n3", fingerprint: "cc", at: 2, by: "jwt:alice", reason: "lost" },
    ];
    expect(plain(run(cs, run(cs))).enrolled).toEqual({});
    expect(plain(run(cs)).enrolled).toEqual({});
  });

  it("a revoked AK is never enrolled or clocked again, whatever follows", () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 20 }), fc.array(change, { maxLength: 20 }), fp, node, (before, after, f, n) => {
        const s = run([...before, { kind: "revoke", node: n, fingerprint: f, at: 1, by: "jwt:alice", reason: "lost" }, ...after]);
        expect([...s.enrolled.values()].some((e) => e.fingerprint === f)).toBe(false);
        expect(s.clocks.has(f)).toBe(false);
      }),
    );
  });
});

describe.each(["file", "postgres"] as const)("the %s registry store", (kind) => {
  let i = 0;
  // A run that fails closes its stores all the same (finally): a store left open would hold the registry's lock, and
  // every later run and shrink would then fail on that lock instead of showing the run's own error.
  const open = async (): Promise<RegistryStore> => {
    if (kind === "file") return new FileRegistryStore(join(tmp, `s${i++}`));
    const s = new PostgresRegistryStore(`postgres://postgres@127.0.0.1:5432/${DB}`);
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${DB}` });
    try {
      await s.load(); // creates the tables
      await c.connect();
      await c.query("TRUNCATE attest_enrolled, attest_revoked, attest_clocks, attest_results, attest_log");
    } catch (e) {
      await s.close();
      throw e;
    } finally {
      await c.end().catch(() => undefined);
    }
    return s;
  };

  it("loads, after reopening, exactly what applyChange makes of the changes written", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(change, { maxLength: 25 }), async (cs) => {
        let store = await open();
        try {
          for (const c of cs) await store.write(c);
        } finally {
          await store.close();
        }
        if (kind === "file") store = new FileRegistryStore(join(tmp, `s${i - 1}`));
        else store = new PostgresRegistryStore(`postgres://postgres@127.0.0.1:5432/${DB}`);
        try {
          expect(plain(await store.load())).toEqual(plain(run(cs)));
        } finally {
          await store.close();
        }
      }),
      { numRuns: kind === "file" ? 40 : 15 },
    );
  });
});

describe("the PostgreSQL registry store", () => {
  it("an enrolment of a revoked AK retires the node's earlier AK, as applyChange does", async () => {
    // fast-check's counterexample (CI: it failed the property above, and the store that run left open then held the
    // lock through every shrink): the store kept n1 enrolled with cc where the whole history leaves n1 unenrolled.
    const url = `postgres://postgres@127.0.0.1:5432/${DB}`;
    const cs: RegistryChange[] = [
      { kind: "revoke", node: "n1", fingerprint: "aa", at: 0, by: "jwt:alice", reason: "lost" },
      { kind: "enrol", node: "n1", fingerprint: "cc", at: 0, ak: "PEM of cc" },
      { kind: "enrol", node: "n1", fingerprint: "aa", at: 0, ak: "PEM of aa" },
    ];
    const store = new PostgresRegistryStore(url, "meridian_attest_replay");
    await store.load();
    try {
      for (const c of cs) await store.write(c);
    } finally {
      await store.close();
    }
    const reopened = new PostgresRegistryStore(url, "meridian_attest_replay");
    try {
      expect(plain(await reopened.load())).toEqual(plain(run(cs)));
      expect(plain(run(cs)).enrolled).toEqual({});
    } finally {
      await reopened.close();
    }
  });

  it("refuses a second verifier on the same database while the first holds it, and takes over once it is gone", async () => {
    const url = `postgres://postgres@127.0.0.1:5432/${DB}`;
    const first = new PostgresRegistryStore(url);
    await first.load();
    const second = new PostgresRegistryStore(url);
    await expect(second.load()).rejects.toThrow(/another attest serve holds this database's registry/);
    await second.close();
    await first.close();
    const third = new PostgresRegistryStore(url);
    await expect(third.load()).resolves.toBeDefined();
    await third.close();
  });
});

describe("the PostgreSQL registry store's lock session", () => {
  const url = () => `postgres://postgres@127.0.0.1:5432/${DB}`;

  it("close during an in-flight load ends the session that load was taking the lock on: a new store gets the lock at once", async () => {
    for (let round = 0; round < 5; round++) {
      const store = new PostgresRegistryStore(url(), "meridian_attest_inflight");
      const loading = store.load(); // its lock session is still connecting when close starts
      await store.close();
      await expect(loading).rejects.toThrow(/closed/);
      const next = new PostgresRegistryStore(url(), "meridian_attest_inflight");
      await expect(next.load(), `round ${round}`).resolves.toBeDefined();
      await next.close();
    }
  });

  it("a load that fails after taking the lock releases it: the next store reports the same damage, not a held lock", async () => {
    const c = new pg.Client({ connectionString: url() });
    await c.connect();
    await c.query("DROP SCHEMA IF EXISTS meridian_attest_damaged CASCADE; CREATE SCHEMA meridian_attest_damaged; CREATE TABLE meridian_attest_damaged.attest_log (id int PRIMARY KEY)");
    await c.end();
    const failed: PostgresRegistryStore[] = [];
    for (let round = 0; round < 2; round++) {
      const store = new PostgresRegistryStore(url(), "meridian_attest_damaged");
      failed.push(store); // not closed until the end: its failed load alone must have let the lock go
      await expect(store.load(), `round ${round}`).rejects.toThrow(/column "size" does not exist/);
    }
    for (const store of failed) await store.close();
  });

  it("closing twice is harmless and still ends the lock session", async () => {
    const store = new PostgresRegistryStore(url(), "meridian_attest_twice");
    await store.load();
    await Promise.all([store.close(), store.close()]);
    await store.close();
    const next = new PostgresRegistryStore(url(), "meridian_attest_twice");
    await expect(next.load()).resolves.toBeDefined();
    await next.close();
  });
});

describe("the PostgreSQL registry store in a schema (one per region's verifier on the ledger database)", () => {
  it("keeps each schema's registry apart: its own tables, its own lock; a second verifier on one schema is still refused", async () => {
    const url = `postgres://postgres@127.0.0.1:5432/${DB}`;
    const east = new PostgresRegistryStore(url, "meridian_attest_east");
    const west = new PostgresRegistryStore(url, "meridian_attest_west");
    await east.load();
    // Another schema on the same database: not locked out by east.
    await west.load();
    await east.write({ kind: "result", node: "n-east", note: "east's note" });
    await west.write({ kind: "result", node: "n-west", note: "west's note" });
    const eastAgain = new PostgresRegistryStore(url, "meridian_attest_east");
    await expect(eastAgain.load()).rejects.toThrow(/another attest serve holds/);
    await eastAgain.close();
    await east.close();
    await west.close();
    const reopened = new PostgresRegistryStore(url, "meridian_attest_east");
    expect([...(await reopened.load()).results]).toEqual([["n-east", "east's note"]]);
    await reopened.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query<{ table_schema: string }>("SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name = 'attest_results' ORDER BY 1");
    await c.end();
    expect(rows.map((r) => r.table_schema)).toEqual(expect.arrayContaining(["meridian_attest_east", "meridian_attest_west"]));
  });

  it("refuses a schema name it would have to quote", () => {
    expect(() => new PostgresRegistryStore("postgres://postgres@127.0.0.1:5432/x", "a; DROP TABLE x")).toThrow(/lower-case SQL identifier/);
  });
});

describe("the file registry store", () => {
  it("refuses a damaged file naming it, and a second process on the same directory", async () => {
    const dir = join(tmp, "damaged");
    const s = new FileRegistryStore(dir);
    await s.write({ kind: "result", node: "n1", note: "x" });
    expect(() => new FileRegistryStore(dir)).toThrow(/is in use by this process/);
    await s.close();
    writeFileSync(join(dir, "registry.json"), '{"version": 1, "enrolled": [');
    const t = new FileRegistryStore(dir);
    await expect(t.load()).rejects.toThrow(/registry\.json: not a registry this verifier wrote .*restore it or move it away/);
    await t.close();
  });
});
