/**
 * The escrow's state-transition log over HTTP (transition-log.ts), public like the inventory view — buyers appear
 * only as pseudonyms — so anyone can replay it and challenge a transition (`meridian fraud challenge --escrow URL`):
 *   GET /v1/transitions/checkpoint          {origin, vkey, size, root, checkpoint, backlog, dropped, refused,
 *                                           lastRefusal?, sealed?}   the signed checkpoint of the log now (backlog:
 *                                           ledger events queued, not yet logged; sealed: the log stopped recording at
 *                                           its memory bound — why, at which size — and dropped counts the events
 *                                           since; refused: events the machine refused, so not logged — e.g. the
 *                                           refund of an earlier incarnation's sale — and the last one's reason)
 *   GET /v1/transitions?start=S&limit=L     {start, entries: [entry JSON text]}       entries S..S+L−1 (L ≤ 1000)
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { parseInput } from "../../kit/index.js";
import type { EscrowTransitionLog } from "../transition-log.js";

const Page = z
  .object({
    start: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(1000),
  })
  .strict();

export function installTransitionRoutes(app: FastifyInstance, log: EscrowTransitionLog): void {
  const publicRoute = { config: { auth: "public" as const } };
  // A checkpoint read logs what is queued within a budget: it signs what is logged, never waits for a long backlog.
  app.get("/v1/transitions/checkpoint", publicRoute, async () => ({
    ...log.checkpoint(200),
    backlog: log.backlog,
    dropped: log.dropped,
    refused: log.refused,
    ...(log.lastRefusal === undefined ? {} : { lastRefusal: log.lastRefusal }),
  }));
  app.get("/v1/transitions", publicRoute, async (req) => {
    const { start, limit } = parseInput(Page, req.query, "query");
    return { start, entries: log.entries(start, limit) };
  });
}
