// The quota store's contract (runtime/quota/store-port.ts), the same tests against both stores: PostgreSQL (a schema per
// test) and the embedded file store (a directory per test). Then what only the file store has to get right: a torn
// journal tail, a corrupt record, and a snapshot plus journal restoring the same state.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Delegation } from "../../../runtime/quota/delegation.js";
import type { Override } from "../../../runtime/quota/overrides.js";
import type { StateChanges } from "../../../runtime/quota/state.js";
import { PostgresQuotaStore } from "../../../runtime/quota/store.js";
import { FileQuotaStore } from "../../../runtime/quota/store-file.js";
import type { QuotaStore } from "../../../runtime/quota/store-port.js";
import { dropSchema, ensureQuotaDb, PG_URL, uniqueSchema } from "./fixture.js";

const schemas: string[] = [];
const dirs: string[] = [];
beforeAll(ensureQuotaDb);
afterAll(async () => {
  for (const s of schemas) await dropSchema(s);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A place for one store: each call of `open` is a new process's store on the same place. */
const kinds: Record<string, () => { open(o?: { lockWaitMs?: number; snapshotEvery?: number }): QuotaStore }> = {
  postgres: () => {
    const schema = uniqueSchema("quota_contract");
    schemas.push(schema);
    return { open: (o) => new PostgresQuotaStore({ url: PG_URL, schema, lockWaitMs: o?.lockWaitMs }) };
  },
  file: () => {
    const dir = mkdtempSync(join(tmpdir(), "quota-store-"));
    dirs.push(dir);
    return { open: (o) => new FileQuotaStore({ dir, lockWaitMs: o?.lockWaitMs, snapshotEvery: o?.snapshotEvery }) };
  },
};

const override = (n: number, patch: Partial<Override> = {}): Override => ({
  id: `ovr-${n}`,
  node: "shop",
  dimension: "cpu",
  hard: 20 + n,
  reason: "launch",
  requestedBy: "shop-lead",
  requestedAt: 1,
  expiresAt: 2,
  emergency: false,
  approvedBy: null,
  decidedAt: null,
  revoked: false,
  rejected: false,
  ...patch,
});
const delegation = (n: number, patch: Partial<Delegation> = {}): Delegation => ({
  id: `dlg-${n}`,
  from: "acme",
  to: `batch-${n}`,
  kind: "application",
  owners: ["batch-lead"],
  amounts: { cpu: 5 },
  by: "acme-admin",
  revoked: false,
  ...patch,
});
const changes = (c: Partial<StateChanges>): StateChanges => ({ usage: [], overrides: [], delegations: [], ...c });
const t = (wall: number, logical = 0) => ({ wall, logical });

describe.each(Object.keys(kinds))("quota store contract: %s", (kind) => {
  it("keeps every commit across a reopen: usage (a cleared dimension gone), overrides and delegations in id order, the closed timestamp", async () => {
    const place = kinds[kind]!();
    let store = place.open();
    expect(await store.open()).toEqual({ usage: {}, overrides: [], delegations: [], closed: t(0) });
    await store.commit(
      changes({
        usage: [
          ["alice", "cpu", 4],
          ["alice", "memory", 2],
        ],
        overrides: [override(10)],
      }),
      t(1000),
    );
    await store.commit(
      changes({
        usage: [
          ["alice", "memory", 0],
          ["shop", "cpu", 4],
        ],
        overrides: [override(2), override(10, { approvedBy: "acme-admin" })],
        delegations: [delegation(1)],
      }),
      t(2000, 3),
    );
    await store.commit(changes({ delegations: [delegation(1, { revoked: true })] }), t(3000));
    await store.close();

    store = place.open();
    const state = await store.open();
    expect(state.usage).toEqual({ alice: { cpu: 4 }, shop: { cpu: 4 } });
    expect(state.overrides.map((o) => [o.id, o.approvedBy])).toEqual([
      ["ovr-2", null],
      ["ovr-10", "acme-admin"],
    ]);
    expect(state.delegations).toEqual([delegation(1, { revoked: true })]);
    expect(state.closed).toEqual(t(3000));
    await store.close();
  });

  it("reads usage as committed and AS OF a timestamp", async () => {
    const store = kinds[kind]!().open();
    await store.open();
    try {
      await store.commit(changes({ usage: [["alice", "cpu", 4]] }), t(1000));
      await store.commit(
        changes({
          usage: [
            ["alice", "cpu", 6],
            ["alice", "memory", 1],
          ],
        }),
        t(2000),
      );
      await store.commit(changes({ usage: [["alice", "cpu", 0]] }), t(3000));
      expect(await store.readUsage("alice")).toEqual({ memory: 1 });
      expect(await store.readUsage("alice", t(999))).toEqual({});
      expect(await store.readUsage("alice", t(1000))).toEqual({ cpu: 4 });
      expect(await store.readUsage("alice", t(2500))).toEqual({ cpu: 6, memory: 1 });
      expect(await store.readUsage("nobody")).toEqual({});
    } finally {
      await store.close();
    }
  });

  it("stores nothing when the audit append before the commit fails", async () => {
    const place = kinds[kind]!();
    let store = place.open();
    await store.open();
    await store.commit(changes({ usage: [["alice", "cpu", 1]] }), t(1000));
    await expect(
      store.commit(changes({ usage: [["alice", "cpu", 9]], overrides: [override(1)] }), t(2000), async () => {
        throw new Error("proof log unavailable");
      }),
    ).rejects.toThrow(/proof log unavailable/);
    expect(await store.readUsage("alice")).toEqual({ cpu: 1 });
    await store.close();
    store = place.open();
    expect(await store.open()).toMatchObject({ usage: { alice: { cpu: 1 } }, overrides: [], closed: t(1000) });
    await store.close();
  });

  it("refuses a second writer while the first holds the store, then lets one in after it closes", async () => {
    const place = kinds[kind]!();
    const first = place.open();
    await first.open();
    const second = place.open({ lockWaitMs: 300 });
    await expect(second.open()).rejects.toThrow(/another quota service holds/);
    await first.commit(changes({ usage: [["alice", "cpu", 2]] }), t(1000));
    await first.close();
    const third = place.open({ lockWaitMs: 300 });
    expect((await third.open()).usage).toEqual({ alice: { cpu: 2 } });
    expect(await third.ping()).toBe(true);
    await third.close();
  });
});

describe("file quota store", () => {
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), "quota-file-"));
    dirs.push(dir);
    return dir;
  };

  it("restores the same state from snapshots and journal as from the journal alone", async () => {
    const rows = Array.from({ length: 25 }, (_, i) => changes({ usage: [[`user-${i % 7}`, "cpu", i + 1]], overrides: i % 5 === 0 ? [override(i + 1)] : [] }));
    // HLC walls (µs) of the last minute: the snapshots keep the day of history before them.
    const base = (Date.now() - 60_000) * 1000;
    const restored = [];
    for (const snapshotEvery of [4, 1000]) {
      const dir = fresh();
      let store = new FileQuotaStore({ dir, snapshotEvery });
      await store.open();
      for (const [i, c] of rows.entries()) await store.commit(c, t(base + 1000 * (i + 1)));
      await store.close();
      store = new FileQuotaStore({ dir, snapshotEvery });
      restored.push({ ...(await store.open()), asOf: await store.readUsage("user-3", t(base + 11_500)) });
      await store.close();
    }
    expect(restored[0]).toEqual(restored[1]);
    expect(restored[0]!.usage["user-6"]).toEqual({ cpu: 21 });
    expect(restored[0]!.asOf).toEqual({ cpu: 11 });
  });

  it("keeps historyMs of AS OF history at each snapshot and refuses reads before it", async () => {
    const dir = fresh();
    const store = new FileQuotaStore({ dir, snapshotEvery: 2, historyMs: 10_000 });
    await store.open();
    const now = Date.now() * 1000;
    await store.commit(changes({ usage: [["alice", "cpu", 1]] }), t(now - 60_000_000));
    await store.commit(changes({ usage: [["alice", "cpu", 2]] }), t(now));
    // The version before the horizon is kept (it is the value at the horizon); reads before the horizon are refused.
    expect(await store.readUsage("alice", t(now - 1))).toEqual({ cpu: 1 });
    await expect(store.readUsage("alice", t(now - 59_000_000))).rejects.toThrow(/before the usage history this store keeps/);
    await store.close();
  });

  it("drops a torn journal tail (never acknowledged) and refuses to start on a corrupt record", async () => {
    const dir = fresh();
    let store = new FileQuotaStore({ dir });
    await store.open();
    await store.commit(changes({ usage: [["alice", "cpu", 1]] }), t(1000));
    await store.commit(changes({ usage: [["alice", "cpu", 2]] }), t(2000));
    await store.close();
    const journal = join(dir, "journal");
    const whole = readFileSync(journal);
    // A crash mid-write: the last record cut short.
    writeFileSync(journal, whole.subarray(0, whole.length - 5));
    store = new FileQuotaStore({ dir });
    expect((await store.open()).usage).toEqual({ alice: { cpu: 1 } });
    await store.commit(changes({ usage: [["alice", "cpu", 3]] }), t(3000));
    await store.close();
    store = new FileQuotaStore({ dir });
    expect((await store.open()).usage).toEqual({ alice: { cpu: 3 } });
    await store.close();

    // A flipped byte inside a complete record: the start stops, naming the journal, and nothing is truncated.
    const bytes = readFileSync(journal);
    bytes[30] = bytes[30]! ^ 0xff;
    writeFileSync(journal, bytes);
    store = new FileQuotaStore({ dir });
    await expect(store.open()).rejects.toThrow(/journal: the record at byte 0 .*fails its CRC/);
    expect(statSync(journal).size).toBe(bytes.length);
    // The lock was released with the failed start.
    appendFileSync(journal, "");
    store = new FileQuotaStore({ dir, lockWaitMs: 0 });
    await expect(store.open()).rejects.toThrow(/fails its CRC/);
  });
});
