/**
 * The transition log's routes (runtime/escrow/transport/transitions.ts) on their own. Bogus pages are refused, and
 * past the end a page is empty. An event the log refused (not logged: e.g. the refund of a sale an earlier
 * incarnation made, which this log never saw) is not silent: the checkpoint says how many and the last reason, so a
 * challenger knows the log leaves out a change the ledger made.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { EscrowTransitionLog } from "../../../../runtime/escrow/transition-log.js";
import { installTransitionRoutes } from "../../../../runtime/escrow/transport/transitions.js";
import { ServedTransitionLog } from "../../../../runtime/escrow/transport/transitions-durable.js";

let app: FastifyInstance;
const log = new EscrowTransitionLog(new ManualClock(0), { origin: "meridian-escrow/eu/0123456789abcdef" });

beforeAll(async () => {
  app = Fastify();
  installTransitionRoutes(app, new ServedTransitionLog(log));
  await app.ready();
});
afterAll(() => app.close());

describe("GET /v1/transitions…", () => {
  it("refuses bogus pages and answers an empty one past the end", async () => {
    for (const q of ["start=-1", "start=abc", "start=1e400", "start=1.5", "start=9007199254740993", "limit=0", "limit=1001", "limit=x", "other=1"])
      expect((await app.inject(`/v1/transitions?${q}`)).statusCode, q).toBe(400);
    expect((await app.inject("/v1/transitions?start=1000000&limit=5")).json()).toEqual({ start: 1_000_000, entries: [] });
    for (const q of ["old=1&new=0", "old=0&new=1", "old=-1&new=0", "old=x&new=0", "old=0", "old=0&new=0&other=1"])
      expect((await app.inject(`/v1/transitions/consistency?${q}`)).statusCode, q).toBe(400);
    expect((await app.inject("/v1/transitions/consistency?old=0&new=0")).json()).toEqual({ old: 0, new: 0, proof: [] });
  });

  it("the checkpoint counts events the log refused, with the last reason", async () => {
    const before = (await app.inject("/v1/transitions/checkpoint")).json<{ size: number; refused: number }>();
    expect(before).toMatchObject({ size: 0, refused: 0 });
    log.refund("tix", "eu", "eu.tix.earlier-incarnation.1");
    const after = (await app.inject("/v1/transitions/checkpoint")).json<{ size: number; refused: number; lastRefusal: string }>();
    expect(after).toMatchObject({ size: 0, refused: 1 });
    expect(after.lastRefusal).toMatch(/^refund in eu: /);
  });
});
