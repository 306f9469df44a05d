/**
 * The HTLC routes of the escrow API (runtime/escrow/htlc): hash time-locked transfers of units between
 * accounts of this ledger, the building block of cross-ledger atomic swaps (htlc/swap.ts).
 *   POST /v1/htlc/assets/:asset/mint          {owner, qty}                 admin   200 {asset, owner, balance} | 409 supply past 2^53 - 1
 *   GET  /v1/htlc/assets/:asset                                            public  {asset, supply, available, locked}
 *   GET  /v1/htlc/assets/:asset/balances/:who                              buyer   the caller's own balance (or an admin's)
 *   POST /v1/htlc/locks  {asset, recipient, qty, hashlock, timelockMs}    buyer   201 locked | 200 replay | 400 | 409 | 410 timelock past
 *        (the answer's `id` is the ledger's: htlcId, below; an `id` in the body is refused 400 unless it is that one)
 *   POST /v1/htlc/locks/:id/claim  {preimage}                              buyer   200 claimed | 403 not the recipient or wrong
 *        preimage | 404 | 409 refunded | 410 the timelock passed
 *   POST /v1/htlc/locks/:id/refund                                         buyer   200 refunded | 403 not the owner | 404 | 409
 *        claimed | 425 before the timelock
 *   GET  /v1/htlc/locks/:id                                                public  the lock (its preimage is public once claimed)
 * A lock's id is derived, never chosen: SHA-256 over "meridian-htlc/v1", the owner (the verified caller), recipient,
 * asset, qty, hashlock and timelock (htlc/core.ts htlcId), so nobody who learns a swap's id can lock under it first,
 * and a retried lock is a replay. Locks stored under ids clients chose before still answer by those ids.
 * The owner of a lock is the verified caller (never a body field); only the recipient's verified identity
 * may claim, only the owner's may refund. The timelock is judged by this node's clock, so while that
 * clock is not trustworthy (`strongRefusal`: ε beyond its bound, frozen, jumped) lock, claim and refund
 * answer 503: a claim or refund decided on a wrong clock could break the swap's T2 < T1 − 2ε ordering.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Clock } from "../../common/clock.js";
import { ACCOUNT_RULE, HttpError, parseInput, wellFormedAccount, type RouteAuth } from "../../kit/index.js";
import { HTLC_ID_DOMAIN, htlcId } from "../htlc/core.js";
import type { HtlcLedger, Outcome } from "../htlc/store.js";
import { SKU } from "../core/ids.js";
import { HTLC_REFUSAL_STATUS as STATUS } from "../htlc/wire.js";

export interface HtlcRouteOptions {
  ledger: HtlcLedger;
  clock: Clock;
  /** Why the node's clock may not decide timelocks now, or null (runtime/clock ClockNode.strongRefusal). */
  strongRefusal?: () => string | null;
}

/** A lock id; not "." or "..", which a URL resolves away (/v1/htlc/locks/../refund is /v1/htlc/refund to fetch and curl). */
const NAME = /^(?!\.\.?$)[A-Za-z0-9._:@-]{1,128}$/;
/**
 * An account (a caller's `sub`, a recipient, a mint owner): 1-128 characters of well-formed Unicode, no NUL — the
 * rule buyerOf applies to buyers (transport/identity.ts wellFormedAccount). PostgreSQL's text cannot hold a NUL (the write fails, a
 * 503 retried for ever), and a lone surrogate is stored as U+FFFD: a token for "x\uD800" would read, lock and
 * spend the units of the account "x\uFFFD", and a lock made out to "x\uD800" could be claimed only by "x\uFFFD".
 */
const account = z.string().refine(wellFormedAccount, `expected an account: ${ACCOUNT_RULE}`);
const assetParam = z.object({ asset: z.string().regex(SKU, "expected an asset name: letters, digits, '.', '_' or '-', at most 64") });
const idParam = z.object({ id: z.string().regex(NAME, "expected a lock id: letters, digits, '.', '_', ':', '@' or '-', at most 128, not '.' or '..'") });
const units = z.number().int("expected a whole number of units").positive().max(1e12);
const mintBody = z.object({ owner: account, qty: units }).strict();
const lockBody = z
  .object({
    /** Optional, and only the derived id (a client that computed it checks the ledger agrees); see the lock route. */
    id: z.string().regex(NAME, "expected a lock id: letters, digits, '.', '_', ':', '@' or '-', at most 128, not '.' or '..'").optional(),
    asset: z.string().regex(SKU, "expected an asset name"),
    recipient: account,
    qty: units,
    hashlock: z.string().regex(/^[0-9a-f]{64}$/, "expected SHA-256 of the preimage: 64 lower-case hex digits"),
    timelockMs: z.number().int().positive(),
  })
  .strict();
const claimBody = z.object({ preimage: z.string().regex(/^([0-9a-f]{2}){1,64}$/, "expected the preimage in hex (1-64 bytes)") }).strict();

function answer<R extends string>(out: Outcome<R>, created = false) {
  if (!out.ok) {
    const [status, error] = STATUS[out.reason] ?? [409, out.reason];
    throw new HttpError(status, error, out.detail);
  }
  return { status: created && !out.duplicate ? 201 : 200, body: { ...out.htlc, duplicate: out.duplicate } };
}

async function store<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(503, "unavailable", `htlc ledger: ${(err as Error).message}`, { "retry-after": "1" });
  }
}

/** Install the HTLC routes (inside installEscrowRoutes, so they share its body parser and route rules). */
export function installHtlcRoutes(app: FastifyInstance, o: HtlcRouteOptions, rules: { buyer: RouteAuth; admin: RouteAuth; adminScope: string }): void {
  const buyerRoute = { bodyLimit: 16 * 1024, config: { auth: rules.buyer } };
  const adminRoute = { bodyLimit: 16 * 1024, config: { auth: rules.admin } };
  const publicRoute = { config: { auth: "public" as const } };
  const caller = (req: { identity?: { kind: string; subject?: string } }): string => {
    const sub = req.identity?.kind === "jwt" ? req.identity.subject : undefined;
    if (!sub) throw new HttpError(401, "unauthenticated", "send `Authorization: Bearer <JWT>` from the estate's identity provider");
    if (!wellFormedAccount(sub)) throw new HttpError(401, "unauthenticated", `\`sub\` must be ${ACCOUNT_RULE}`);
    return sub;
  };
  const now = (): number => {
    const refusal = o.strongRefusal?.() ?? null;
    if (refusal) throw new HttpError(503, "clock untrustworthy", `timelocks cannot be judged now: ${refusal}`, { "retry-after": "1" });
    return o.clock.now();
  };

  app.post("/v1/htlc/assets/:asset/mint", adminRoute, async (req) => {
    const { asset } = parseInput(assetParam, req.params, "path");
    const { owner, qty } = parseInput(mintBody, req.body, "body");
    // A mint past the asset's supply limit (htlc/core.ts checkSupply) is a refusal, not an outage.
    const refused = (err: unknown) => {
      throw err instanceof RangeError ? new HttpError(409, "supply limit", err.message) : err;
    };
    await store(o.ledger.mint(asset, owner, qty).catch(refused));
    return { asset, owner, balance: await store(o.ledger.balance(asset, owner)) };
  });

  app.get("/v1/htlc/assets/:asset", publicRoute, async (req) => {
    const { asset } = parseInput(assetParam, req.params, "path");
    return store(o.ledger.totals(asset));
  });

  app.get("/v1/htlc/assets/:asset/balances/:who", buyerRoute, async (req) => {
    const { asset } = parseInput(assetParam, req.params, "path");
    const who = (req.params as { who: string }).who;
    const me = caller(req);
    const admin = req.identity?.kind === "jwt" && req.identity.scopes.includes(rules.adminScope);
    if (who !== me && !admin) throw new HttpError(403, "not yours", `${me} may read only their own balance`);
    return { asset, owner: who, available: await store(o.ledger.balance(asset, who)) };
  });

  app.post("/v1/htlc/locks", buyerRoute, async (req, reply) => {
    const { id, ...terms } = parseInput(lockBody, req.body, "body");
    const lock = { ...terms, owner: caller(req) };
    // A client's own id was global: whoever learnt it could lock under it first and block the swap. An id sent now is
    // accepted only as a check that the client derived the same one (the owner being the token's sub); any other is
    // refused, naming the change, rather than silently replaced (the client would then claim or refund the wrong id).
    let derived: string;
    try {
      derived = htlcId(lock);
    } catch (err) {
      // Terms the id has no canonical encoding for (the body's rules leave none: a safe integer, well-formed text).
      throw err instanceof RangeError ? new HttpError(400, "invalid lock", err.message) : err;
    }
    if (id !== undefined && id !== derived)
      throw new HttpError(
        400,
        "invalid lock",
        `id: lock ids are derived by the ledger (${HTLC_ID_DOMAIN}: SHA-256 over owner = your token's sub, recipient, asset, qty, hashlock, timelockMs); these terms' id is ${derived}, not ${id}: omit id, or send that one`,
      );
    const out = answer(await store(o.ledger.lock(lock, now())), true);
    return reply.status(out.status).send(out.body);
  });

  app.post("/v1/htlc/locks/:id/claim", buyerRoute, async (req) => {
    const { id } = parseInput(idParam, req.params, "path");
    const { preimage } = parseInput(claimBody, req.body, "body");
    return answer(await store(o.ledger.claim(id, preimage, caller(req), now()))).body;
  });

  app.post("/v1/htlc/locks/:id/refund", buyerRoute, async (req) => {
    const { id } = parseInput(idParam, req.params, "path");
    return answer(await store(o.ledger.refund(id, caller(req), now()))).body;
  });

  app.get("/v1/htlc/locks/:id", publicRoute, async (req) => {
    const { id } = parseInput(idParam, req.params, "path");
    const h = await store(o.ledger.get(id));
    if (!h) throw new HttpError(404, "unknown lock", `no lock ${id}`);
    return h;
  });
}
