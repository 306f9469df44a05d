/**
 * The escrow's state-transition log over HTTP (transition-log.ts), public like the inventory view — buyers appear
 * only as pseudonyms — so anyone can replay it and challenge a transition (`meridian fraud challenge --escrow URL`):
 *   GET /v1/transitions/checkpoint          {origin, vkey, size, root, checkpoint, backlog, dropped, refused,
 *                                           lastRefusal?, sealed?, restarted?}   the signed checkpoint of the log now (backlog:
 *                                           ledger events queued, not yet logged; sealed: the log stopped recording at
 *                                           its memory bound — why, at which size — and dropped counts the events
 *                                           since; refused: events the machine refused, so not logged — e.g. the
 *                                           refund of a sale a log this one does not continue made — and the last
 *                                           one's reason; restarted: the stored log this one replaced, at which
 *                                           size and why, transitions-durable.ts). It signs only what is durable: a
 *                                           log kept in PostgreSQL, what the store holds.
 *   GET /v1/transitions?start=S&limit=L     {start, entries: [entry JSON text]}       entries S..S+L−1 (L ≤ 1000)
 *   GET /v1/transitions/consistency?old=M&new=N   {old, new, proof: [base64 hash]}   RFC 6962 consistency proof from
 *                                           the tree of size M to that of size N (M ≤ N ≤ the checkpoint's size):
 *                                           a witness that saw size M holds the log to it (Go's tlog.CheckTree)
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { HttpError, parseInput } from "../../kit/index.js";
import type { TransitionLogReader } from "./transitions-reader.js";

const Page = z
  .object({
    start: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(1000),
  })
  .strict();
const size = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Consistency = z.object({ old: size, new: size }).strict();

export function installTransitionRoutes(app: FastifyInstance, served: TransitionLogReader): void {
  const publicRoute = { config: { auth: "public" as const } };
  // A checkpoint read logs what is queued within a budget: it signs what is logged, never waits for a long backlog.
  app.get("/v1/transitions/checkpoint", publicRoute, () => served.status(200));
  app.get("/v1/transitions", publicRoute, async (req) => {
    const { start, limit } = parseInput(Page, req.query, "query");
    return { start, entries: await served.entries(start, limit) };
  });
  app.get("/v1/transitions/consistency", publicRoute, async (req) => {
    const q = parseInput(Consistency, req.query, "query");
    const proof = await served.consistency(q.old, q.new);
    if (typeof proof === "string") throw new HttpError(400, "bad sizes", proof);
    return { old: q.old, new: q.new, proof };
  });
}
