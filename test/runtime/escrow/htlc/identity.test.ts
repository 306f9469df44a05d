// Who a caller is on the HTLC routes, against the real PostgreSQL ledger through the service: the owner of a
// lock and whoever claims or refunds is the verified token's `sub`, and only a `sub` (or a recipient or mint
// owner) that PostgreSQL stores as itself. A lone surrogate is stored as U+FFFD, so without the rule a token for
// "victim\uD800" spends the units of the account "victim\uFFFD"; a NUL cannot be stored at all (the write fails:
// 503, retried for ever).
import { describe, expect, it } from "vitest";
import { htlcId } from "../../../../runtime/escrow/htlc/core.js";
import { newSecret } from "../../../../runtime/escrow/htlc/swap.js";
import { as } from "../fixture.js";
import { escrowOnPostgres } from "./server.js";

const fx = escrowOnPostgres("htlc_ident");

async function call(method: string, path: string, who: string, body?: unknown, admin = false): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${fx.server.url}${path}`, {
    method,
    headers: { ...(await as(who, undefined, { admin })), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const totals = async (asset: string) => (await fetch(`${fx.server.url}/v1/htlc/assets/${asset}`)).json();
const balanceOf = async (asset: string, who: string) => (await call("GET", `/v1/htlc/assets/${asset}/balances/${encodeURIComponent(who)}`, "ops", undefined, true)).body["available"];

const lockBody = (asset: string, recipient: string, qty = 10) => ({ asset, recipient, qty, hashlock: newSecret().hashlock, timelockMs: Date.now() + 3_600_000 });

describe("HTLC identity rules over HTTP (PostgreSQL ledger)", () => {
  it("a token whose sub has a lone surrogate cannot lock the units of the account PostgreSQL stores it as", async () => {
    const victim = "victim\uFFFD";
    expect((await call("POST", "/v1/htlc/assets/gold-i1/mint", "ops", { owner: victim, qty: 10 }, true)).status).toBe(200);
    const secret = newSecret();
    const body = { ...lockBody("gold-i1", "thief"), hashlock: secret.hashlock };
    const locked = await call("POST", "/v1/htlc/locks", "victim\uD800", body);
    expect(locked.status).toBe(401);
    expect(String(locked.body["detail"])).toMatch(/well-formed Unicode/);
    // Had it locked, the thief would claim the victim's units with a preimage of his own (the lock's id: the victim's).
    expect((await call("POST", `/v1/htlc/locks/${htlcId({ ...body, owner: victim })}/claim`, "thief", { preimage: secret.preimage })).status).toBe(404);
    expect(await balanceOf("gold-i1", victim)).toBe(10);
    expect(await balanceOf("gold-i1", "thief")).toBe(0);
    expect(await totals("gold-i1")).toEqual({ asset: "gold-i1", supply: 10, available: 10, locked: 0 });
  });

  it("NUL and over-long subs are refused 401 on lock, claim and refund, not a ledger failure", async () => {
    await call("POST", "/v1/htlc/assets/gold-i2/mint", "ops", { owner: "alice", qty: 10 }, true);
    for (const sub of ["a\u0000b", "x".repeat(129), "\uDC00"]) {
      expect((await call("POST", "/v1/htlc/locks", sub, lockBody("gold-i2", "bob"))).status).toBe(401);
      expect((await call("POST", "/v1/htlc/locks/ident-x/claim", sub, { preimage: "ab" })).status).toBe(401);
      expect((await call("POST", "/v1/htlc/locks/ident-x/refund", sub)).status).toBe(401);
    }
  });

  it("a recipient or a mint owner PostgreSQL would not store as given is a 400", async () => {
    await call("POST", "/v1/htlc/assets/gold-i3/mint", "ops", { owner: "alice", qty: 10 }, true);
    for (const who of ["b\u0000", "bob\uD800", ""]) {
      expect((await call("POST", "/v1/htlc/locks", "alice", lockBody("gold-i3", who, 1))).status).toBe(400);
      expect((await call("POST", "/v1/htlc/assets/gold-i3/mint", "ops", { owner: who, qty: 1 }, true)).status).toBe(400);
    }
    expect(await totals("gold-i3")).toEqual({ asset: "gold-i3", supply: 10, available: 10, locked: 0 });
  });

  it("nobody locks another's units, claims a lock made out to another, or refunds another's lock (owner is never a body field)", async () => {
    await call("POST", "/v1/htlc/assets/gold-i4/mint", "ops", { owner: "alice", qty: 10 }, true);
    const secret = newSecret();
    const body = { ...lockBody("gold-i4", "bob", 4), hashlock: secret.hashlock, timelockMs: Date.now() + 1_500 };
    // Mallory names Alice as owner: the body is strict; without the field, the lock is hers and she has nothing.
    expect((await call("POST", "/v1/htlc/locks", "mallory", { ...body, owner: "alice" })).status).toBe(400);
    expect((await call("POST", "/v1/htlc/locks", "mallory", body)).status).toBe(409);
    const locked = await call("POST", "/v1/htlc/locks", "alice", body);
    expect(locked.status).toBe(201);
    const id = String(locked.body["id"]);
    expect(id).toBe(htlcId({ ...body, owner: "alice" }));
    // The same terms from someone else are another lock (another id), not a replay of Alice's: Mallory has no units.
    expect((await call("POST", "/v1/htlc/locks", "mallory", body)).body["error"]).toBe("insufficient balance");
    expect((await call("POST", "/v1/htlc/locks", "mallory", { ...body, id })).status).toBe(400);
    expect((await call("POST", `/v1/htlc/locks/${id}/claim`, "mallory", { preimage: secret.preimage })).status).toBe(403);
    expect((await call("POST", `/v1/htlc/locks/${id}/claim`, "alice", { preimage: secret.preimage })).status).toBe(403);
    await new Promise((r) => setTimeout(r, 1_600));
    expect((await call("POST", `/v1/htlc/locks/${id}/refund`, "bob")).status).toBe(403);
    expect((await call("POST", `/v1/htlc/locks/${id}/refund`, "mallory")).status).toBe(403);
    expect((await call("POST", `/v1/htlc/locks/${id}/refund`, "alice")).status).toBe(200);
    expect(await balanceOf("gold-i4", "alice")).toBe(10);
    expect(await totals("gold-i4")).toEqual({ asset: "gold-i4", supply: 10, available: 10, locked: 0 });
  });
});
