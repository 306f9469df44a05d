import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { RegionLedger, type Reservation } from "../../../../runtime/escrow/core/ledger.js";
import { parseReservationId, ReservationTokens, reservationPrefix, TokenSource } from "../../../../runtime/escrow/core/ids.js";

describe("RegionLedger (the fast path)", () => {
  it("reserves locally, expires in order, and commits without losing a unit", () => {
    const l = new RegionLedger(100, reservationPrefix("eu", "tix", "0a1b2c3d"));
    l.credit(5);
    const a = l.reserve("alice", 2, 0)!;
    const b = l.reserve("bob", 2, 50)!;
    expect(a.id).toMatch(/^eu~tix~0a1b2c3d0-[A-Za-z0-9_-]{16}$/);
    expect(b.id).toMatch(/^eu~tix~0a1b2c3d1-[A-Za-z0-9_-]{16}$/);
    expect(l.reserve("carol", 2, 60)).toBeNull();
    expect(l.free).toBe(1);
    expect(l.beginCommit(b.id, 60).ok).toBe(true);
    expect(l.beginCommit(b.id, 60)).toEqual({ ok: false, reason: "in-progress" });
    expect(l.expire(100).map((r) => r.user)).toEqual(["alice"]); // bob is committing: he cannot expire
    expect(l.expire(1000)).toEqual([]);
    l.finishCommit(b.id);
    expect({ free: l.free, reserved: l.reserved, held: l.held, sold: l.soldTotal }).toEqual({ free: 3, reserved: 0, held: 3, sold: 2 });
    expect(l.get(a.id)).toBeUndefined();
    // Swept by the expiry, not forgotten: a late commit is told it expired (410), not that it never existed.
    expect(l.beginCommit(a.id, 1000)).toEqual({ ok: false, reason: "expired" });
    expect(l.lookup(b.id)).toBe("unknown"); // sold: the store answers for it
  });

  it("an id has one spelling: its sequence number with a leading zero names nothing, in the ledger itself", () => {
    const l = new RegionLedger(1000, reservationPrefix("eu", "tix", "0a1b2c3d"));
    l.credit(3);
    const r = l.reserve("alice", 1, 0)!; // sequence 0
    const s = l.reserve("alice", 1, 0)!; // sequence 1
    const prefix = reservationPrefix("eu", "tix", "0a1b2c3d");
    for (const [id, seq] of [
      [r.id, "0"],
      [s.id, "1"],
    ] as const) {
      const other = `${prefix}0${seq}${id.slice(prefix.length + seq.length)}`;
      expect(l.lookup(other)).toBe("unknown");
      expect(l.beginCommit(other, 1)).toEqual({ ok: false, reason: "unknown" });
      expect(l.get(id)?.user).toBe("alice");
    }
  });

  it("ids are unguessable: the right sequence number with another token names nothing", () => {
    const l = new RegionLedger(1000, reservationPrefix("eu", "tix", "0a1b2c3d"));
    l.credit(3);
    const r = l.reserve("alice", 1, 0)!;
    const forged = `${r.id.slice(0, -16)}${"A".repeat(16)}`;
    expect(l.lookup(forged)).toBe("unknown");
    expect(l.beginCommit(forged, 1)).toEqual({ ok: false, reason: "unknown" });
    expect(l.release(forged)).toBeUndefined();
    expect(l.get(r.id)?.user).toBe("alice");
    // Right after the genuine id was looked up (the ledger keeps the last parse), the forgery still names nothing.
    expect(l.lookup(forged)).toBe("unknown");
    expect(l.get(r.id)?.user).toBe("alice");
    expect(l.beginCommit(forged, 1)).toEqual({ ok: false, reason: "unknown" });
    const tokens = new TokenSource();
    const seen = new Set(Array.from({ length: 10_000 }, () => tokens.next()));
    expect(seen.size).toBe(10_000);
  });

  it("an id swept out of the window is judged by its token: forged → unknown, another buyer's → foreign, the owner's → expired", () => {
    const prefix = reservationPrefix("eu", "tix", "0a1b2c3d");
    /** A ledger whose first reservation (alice's) and 1,100 more were swept and compacted away. */
    const swept = () => {
      const l = new RegionLedger(100, prefix);
      l.credit(1);
      const first = l.reserve("alice", 1, 0)!;
      const recent: Reservation[] = [];
      for (let i = 0; i < 1100; i++) {
        l.expire(100 * (i + 1));
        recent.push(l.reserve(`u${i}`, 1, 100 * (i + 1))!);
      }
      l.expire(1_000_000);
      expect(Reflect.get(l, "base")).toBeGreaterThan(0); // compacted: the ledger no longer holds the first slots
      return { l, first, last: recent.at(-1)! };
    };
    const { l, first, last } = swept();
    const forged = `${first.id.slice(0, -16)}${"A".repeat(16)}`;
    expect(l.lookup(forged)).toBe("unknown");
    expect(l.beginCommit(forged, 1_000_000)).toEqual({ ok: false, reason: "unknown" });
    expect(l.ended(forged, "alice")).toBe("unknown");
    expect(l.ended(`${prefix}5-${"b".repeat(16)}`, "u4")).toBe("unknown");
    expect(l.lookup(first.id)).toBe("expired");
    expect(l.beginCommit(first.id, 1_000_000)).toEqual({ ok: false, reason: "expired" });
    expect(l.ended(first.id, "alice")).toBe("expired");
    expect(l.ended(first.id, "mallory")).toBe("foreign");
    // Still in the window: the ledger knows the owner.
    expect(l.lookup(last.id)).toBe("expired");
    expect(l.ended(last.id, "u1099")).toBe("expired");
    expect(l.ended(last.id, "mallory")).toBe("foreign");
    // Another ledger (another process, another key) issued ids with the same prefix and sequence numbers: not its own.
    const other = swept();
    expect(other.first.id).not.toBe(first.id);
    expect(other.l.ended(first.id, "alice")).toBe("unknown");
    expect(other.l.lookup(first.id)).toBe("unknown");
    // Tokens differ for every sequence number and buyer.
    const t = new ReservationTokens();
    const seen = new Set<string>();
    for (let seq = 0; seq < 2000; seq++) for (const u of ["a", "b"]) seen.add(t.issue(seq, u));
    expect(seen.size).toBe(4000);
    expect(t.check(7, t.issue(7, "a"), "a")).toBe("owner");
    expect(t.check(7, t.issue(7, "a"), "b")).toBe("foreign");
    expect(t.check(8, t.issue(7, "a"), "a")).toBe("forged");
  });

  it("a voided ledger answers void for what it held, and expired for what its sweep released", () => {
    const l = new RegionLedger(100, reservationPrefix("eu", "tix", "0a1b2c3d"));
    l.credit(4);
    const old = l.reserve("a", 1, 0)!;
    const gone = l.reserve("b", 1, 0)!;
    l.expire(200);
    expect(l.lookup(gone.id)).toBe("expired");
    const live = l.reserve("c", 1, 300)!;
    expect(l.void().map((r) => r.user)).toEqual(["c"]);
    expect(l.lookup(live.id)).toBe("void");
    expect(l.lookup(old.id)).toBe("expired"); // released by the sweep before the void
    expect(l.held).toBe(0);
  });

  it("a voided reservation swept out of the window still answers void to its owner (not expired), foreign to others, unknown when forged", () => {
    const prefix = reservationPrefix("eu", "tix", "0a1b2c3d");
    const l = new RegionLedger(100, prefix);
    l.credit(3);
    const early = l.reserve("ann", 1, 0)!;
    l.expire(200); // ann's reservation expired before the void
    const voided = l.reserve("alice", 1, 300)!;
    const orphan = l.reserve("olga", 1, 300)!;
    expect(l.beginCommit(orphan.id, 310).ok).toBe(true); // in flight when the ledger is voided
    expect(l.void().map((r) => r.user)).toEqual(["alice"]);
    // A new lease; 1,100 reservations later the sweep has compacted the voided ones out of the window.
    l.credit(1);
    for (let i = 0; i < 1100; i++) {
      l.expire(400 + 100 * i);
      l.reserve(`u${i}`, 1, 400 + 100 * i);
    }
    l.expire(1_000_000);
    expect(Reflect.get(l, "base")).toBeGreaterThan(voided.seq); // swept: the ledger no longer holds its slot
    l.abortCommit(orphan.id); // its write failed after the sweep: void too, its units gone with the old lease
    for (const r of [voided, orphan]) {
      expect(l.lookup(r.id)).toBe("void");
      expect(l.beginCommit(r.id, 1_000_000)).toEqual({ ok: false, reason: "void" });
      expect(l.ended(r.id, r.user)).toBe("void");
      expect(l.ended(r.id, "mallory")).toBe("foreign");
      expect(l.ended(`${r.id.slice(0, -16)}${"A".repeat(16)}`, r.user)).toBe("unknown");
    }
    expect(l.ended(early.id, "ann")).toBe("expired"); // expired before the void: still expired
    expect(l.held).toBe(1);
  });

  it("an expired reservation cannot be committed; an aborted commit stands again; a failed one is void", () => {
    const l = new RegionLedger(100);
    l.credit(3);
    const r1 = l.reserve("a", 1, 0)!;
    const r2 = l.reserve("b", 1, 0)!;
    expect(l.beginCommit(r1.id, 100)).toEqual({ ok: false, reason: "expired" });
    expect(l.free).toBe(2);
    l.beginCommit(r2.id, 10);
    l.abortCommit(r2.id);
    expect(l.get(r2.id)?.committing).toBe(false);
    l.beginCommit(r2.id, 10);
    l.failCommit(r2.id);
    expect({ free: l.free, held: l.held }).toEqual({ free: 2, held: 2 });
  });

  it("ids carry region and SKU (up to 64 characters) and round-trip", () => {
    const sku = `A${"b".repeat(62)}9`;
    const l = new RegionLedger(100, reservationPrefix("aws-use1", sku, "deadbeef"));
    l.credit(1);
    const id = l.reserve("u", 1, 0)!.id;
    expect(parseReservationId(id)).toMatchObject({ region: "aws-use1", sku, incarnation: "deadbeef", seq: 0 });
    expect(parseReservationId("nonsense")).toBeNull();
    expect(parseReservationId("eu~tix~0a1b2c3d0-short")).toBeNull();
  });

  it("property: free + reserved + committing = held and every count stays ≥ 0 under any operation sequence", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("credit" as const), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ k: fc.constant("debit" as const), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ k: fc.constant("reserve" as const), n: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ k: fc.constantFrom("begin" as const, "finish" as const, "abort" as const, "fail" as const, "release" as const), n: fc.nat(2000) }),
      fc.record({ k: fc.constant("advance" as const), n: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ k: fc.constant("void" as const), n: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const l = new RegionLedger(50, reservationPrefix("r1", "s", "00000000"));
        let now = 0;
        let credited = 0;
        let debited = 0;
        let voided = 0;
        const ids: string[] = [];
        for (const o of ops) {
          const id = ids.length ? ids[o.n % ids.length]! : "none";
          const heldBefore = l.held;
          switch (o.k) {
            case "credit":
              l.credit(o.n);
              credited += o.n;
              break;
            case "debit":
              debited += l.debit(o.n);
              break;
            case "reserve": {
              const r = l.reserve("u", o.n, now);
              if (r) ids.push(r.id);
              break;
            }
            case "begin":
              l.beginCommit(id, now);
              break;
            case "finish":
              l.finishCommit(id);
              break;
            case "abort": {
              const before = l.held;
              l.abortCommit(id); // begun before a void: its units went with the lease
              voided += before - l.held;
              break;
            }
            case "fail": {
              const before = l.held;
              l.failCommit(id);
              voided += before - l.held;
              break;
            }
            case "release":
              l.release(id);
              break;
            case "advance":
              now += o.n;
              l.expire(now);
              break;
            case "void":
              voided += l.held - l.committing;
              l.void();
              break;
          }
          expect(l.free).toBeGreaterThanOrEqual(0);
          expect(l.reserved).toBeGreaterThanOrEqual(l.committing);
          expect(l.free + l.reserved).toBe(l.held);
          expect(l.held).toBeLessThanOrEqual(heldBefore + (o.k === "credit" ? o.n : 0));
        }
        expect(l.held + l.soldTotal + debited + voided).toBe(credited);
      }),
      // A commit in flight at a void, then aborted: its units went with the voided lease (found by a random run).
      {
        numRuns: 300,
        examples: [
          [
            [
              { k: "credit", n: 1 },
              { k: "reserve", n: 1 },
              { k: "begin", n: 0 },
              { k: "void", n: 0 },
              { k: "abort", n: 0 },
            ],
          ],
        ],
      },
    );
  });
});
