// HTLC lock ids are derived by the ledger, not chosen by the client (htlc/core.ts htlcId): SHA-256 over a
// domain-separated, length-prefixed encoding of (owner, recipient, asset, qty, hashlock, timelock), the owner
// being the verified caller. Before, an id was the client's and global: anyone who learnt a swap's agreed id
// (ids travel in the parties' messages) could lock first under it with their own units, and the real owner's
// lock was refused "lock exists". Here: a known-answer vector computed outside Node, fast-check that the
// encoding is injective, the attack over HTTP with two buyer tokens, and a ledger's pre-existing rows (ids a
// client chose) still answering by their stored id.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import pg from "pg";
import { hashlockOf, htlcId, htlcIdInput, type LockTerms } from "../../../../runtime/escrow/htlc/core.js";
import { MemoryHtlcLedger } from "../../../../runtime/escrow/htlc/store.js";
import { as } from "../fixture.js";
import { PG_URL } from "../servers.js";
import { escrowOnPostgres } from "./server.js";

const PRE = "11".repeat(32);
/** 2100-01-01T00:00:00Z: a timelock that stays in the future, so the vector's terms can be locked over HTTP. */
const T = 4_102_444_800_000;
const TERMS: LockTerms = { owner: "alice", recipient: "bob", asset: "gold", qty: 5, hashlock: hashlockOf(PRE), timelockMs: T };
/**
 * The known answer, computed without Node from the encoding documented in core.ts (each field a 4-byte big-endian
 * byte length, then its UTF-8; numbers in decimal):
 *   H=$(printf '\x11%.0s' $(seq 32) | openssl dgst -sha256 -r | cut -d' ' -f1)      # 02d449a3…a4bedc
 *   f() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' 0 0 0 ${#1})%s" "$1"; }
 *   { f meridian-htlc/v1; f alice; f bob; f gold; f 5; f $H; f 4102444800000; } | openssl dgst -sha256 -r
 */
const KAT_ID = "51309d582a3fb418a8c142fdbd5b1a86137afe5658c50ee4074a9bd41b5a1b8d";

describe("htlcId", () => {
  it("matches the known-answer vector (bash printf + openssl over the documented encoding)", () => {
    expect(hashlockOf(PRE)).toBe("02d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedc");
    expect(htlcIdInput(TERMS).subarray(0, 20).toString("hex")).toBe(`00000010${Buffer.from("meridian-htlc/v1").toString("hex")}`);
    expect(htlcId(TERMS)).toBe(KAT_ID);
  });

  it("refuses terms the encoding cannot hold canonically (a lone surrogate, a qty or timelock that is not a safe integer)", () => {
    expect(() => htlcId({ ...TERMS, owner: "x\uD800" })).toThrow(RangeError);
    expect(() => htlcId({ ...TERMS, qty: 1.5 })).toThrow(RangeError);
    expect(() => htlcId({ ...TERMS, timelockMs: 2 ** 53 })).toThrow(RangeError);
  });

  // Strings of any well-formed Unicode (NUL, separators, multi-byte) and integers, so a field boundary moved
  // ("ab","c" vs "a","bc") or a number's digits shifted into a neighbour would show as equal inputs.
  const text = fc.oneof(
    // Few characters, separators and NUL among them, so boundary cases come up often; and any code point.
    fc.string({ unit: fc.constantFrom("a", "\u0000", ":", "\u00e9", "\u{1F600}", "5"), maxLength: 4 }),
    fc.string({ unit: "binary", maxLength: 6 }).filter((s) => !/\p{Cs}/u.test(s)),
  );
  const terms = fc.record({
    owner: text,
    recipient: text,
    asset: text,
    qty: fc.integer({ min: 1, max: 10_000 }),
    hashlock: text,
    timelockMs: fc.integer({ min: -10_000, max: 10_000 }),
  });
  const key = (t: LockTerms) => JSON.stringify([t.owner, t.recipient, t.asset, t.qty, t.hashlock, t.timelockMs]);
  /** A second tuple that is the first with text moved across a field boundary: the cases an unprefixed concatenation confuses. */
  const shifted = terms.chain((a) =>
    fc.nat(4).map((i) => {
      const b = { ...a };
      const fields = ["owner", "recipient", "asset", "hashlock"] as const;
      const from = fields[i % 4]!;
      const to = fields[(i + 1) % 4]!;
      // By code point: a surrogate pair moves whole.
      const cps = Array.from(a[from]);
      b[to] = cps.slice(-1).join("") + a[to];
      b[from] = cps.slice(0, -1).join("");
      return [a, b] as const;
    }),
  );

  it("is injective: distinct terms give distinct encoded inputs (and ids)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(terms, terms), shifted), ([a, b]) => {
        fc.pre(key(a) !== key(b));
        expect(htlcIdInput(a).equals(htlcIdInput(b))).toBe(false);
        expect(htlcId(a)).not.toBe(htlcId(b));
      }),
      { numRuns: 2_000 },
    );
  });

  it("a ledger derives it: the same terms again are a replay, another owner's identical terms another lock", async () => {
    const l = new MemoryHtlcLedger();
    await l.mint("gold", "alice", 10);
    await l.mint("gold", "mallory", 10);
    expect(await l.lock(TERMS, 0)).toMatchObject({ ok: true, duplicate: false, htlc: { id: KAT_ID } });
    expect(await l.lock(TERMS, 1)).toMatchObject({ ok: true, duplicate: true, htlc: { id: KAT_ID } });
    const m = await l.lock({ ...TERMS, owner: "mallory" }, 1);
    expect(m.ok && m.htlc.id).not.toBe(KAT_ID);
    expect((await l.get(KAT_ID))!.owner).toBe("alice");
  });
});

describe("lock ids over HTTP (PostgreSQL ledger)", () => {
  const fx = escrowOnPostgres("htlc_lockid");
  const { schema } = fx;

  async function call(method: string, path: string, who: string | null, body?: unknown, admin = false): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${fx.server.url}${path}`, {
      method,
      headers: { ...(who === null ? {} : await as(who, undefined, { admin })), ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const lockBody = { asset: TERMS.asset, recipient: TERMS.recipient, qty: TERMS.qty, hashlock: TERMS.hashlock, timelockMs: TERMS.timelockMs };

  it("someone who learnt the swap's id cannot take it: Mallory's lock under Alice's id is refused, Alice's lock gets it", async () => {
    for (const owner of ["alice", "mallory"]) expect((await call("POST", "/v1/htlc/assets/gold/mint", "ops", { owner, qty: 10 }, true)).status).toBe(200);
    // Mallory, with units of her own, races to lock first under the id Alice and Bob agreed (here the vector's).
    const squat = await call("POST", "/v1/htlc/locks", "mallory", { ...lockBody, id: KAT_ID });
    expect(squat.status).toBe(400);
    expect(String(squat.body["detail"])).toMatch(/derived/);
    // Without the id she gets a lock of her own, under another id.
    const own = await call("POST", "/v1/htlc/locks", "mallory", lockBody);
    expect(own.status).toBe(201);
    expect(own.body["id"]).not.toBe(KAT_ID);
    // Alice's lock is not blocked: it gets the agreed id, and a retry of it is a replay.
    const alice = await call("POST", "/v1/htlc/locks", "alice", lockBody);
    expect(alice.status).toBe(201);
    expect(alice.body).toMatchObject({ id: KAT_ID, owner: "alice", duplicate: false });
    expect(await call("POST", "/v1/htlc/locks", "alice", { ...lockBody, id: KAT_ID })).toMatchObject({ status: 200, body: { id: KAT_ID, duplicate: true } });
    expect(await call("GET", `/v1/htlc/locks/${KAT_ID}`, null)).toMatchObject({ status: 200, body: { owner: "alice", status: "locked" } });
    expect(await call("POST", `/v1/htlc/locks/${KAT_ID}/claim`, "bob", { preimage: PRE })).toMatchObject({ status: 200, body: { status: "claimed" } });
  });

  it("a row a client named before ids were derived still answers by its stored id", async () => {
    expect((await call("POST", "/v1/htlc/assets/silver/mint", "ops", { owner: "alice", qty: 10 }, true)).status).toBe(200);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      // What a ledger before the change holds: alice's 4 silver locked for bob under the id "swap-old:1" she chose.
      await c.query(`UPDATE ${schema}.htlc_balances SET available = available - 4 WHERE asset = 'silver' AND owner = 'alice'`);
      await c.query(
        `INSERT INTO ${schema}.htlc_locks (id, asset, owner, recipient, qty, hashlock, timelock_ms, status, preimage, locked_at_ms, settled_at_ms) VALUES ('swap-old:1', 'silver', 'alice', 'bob', 4, $1, $2, 'locked', NULL, $3, NULL)`,
        [TERMS.hashlock, T, Date.now()],
      );
    } finally {
      await c.end();
    }
    expect(await call("GET", "/v1/htlc/locks/swap-old:1", null)).toMatchObject({ status: 200, body: { id: "swap-old:1", status: "locked" } });
    expect(await call("POST", "/v1/htlc/locks/swap-old:1/claim", "bob", { preimage: PRE })).toMatchObject({ status: 200, body: { id: "swap-old:1", status: "claimed" } });
    expect(await (await fetch(`${fx.server.url}/v1/htlc/assets/silver`)).json()).toEqual({ asset: "silver", supply: 10, available: 10, locked: 0 });
  });
});
