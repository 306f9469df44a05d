/**
 * The quota service over HTTP (fastify). The caller's identity comes from the `x-meridian-principal`
 * header, set by the mesh after mTLS (the service itself does no authentication). Reservations answer
 * 409 naming every violated limit; authority failures 403; unknown nodes 404; bad bodies 400 — all as
 * `{error, detail}`, and a refused request changes nothing.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { z } from "zod";
import { HttpError, installErrorHandler, parseInput } from "../common/http.js";
import { Delegations } from "./delegation.js";
import { QuotaError } from "./errors.js";
import type { QuotaTree } from "./tree.js";

const amounts = z.record(z.string(), z.number().nonnegative());
const STATUS = { invalid: 400, forbidden: 403, "not-found": 404, conflict: 409 } as const;

function principal(req: FastifyRequest): string {
  const p = req.headers["x-meridian-principal"];
  if (typeof p !== "string" || !p) throw new HttpError(401, "unauthenticated", "the x-meridian-principal header names the caller");
  return p;
}

export function buildQuotaHttp(tree: QuotaTree): FastifyInstance {
  const delegations = new Delegations(tree);
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof QuotaError) throw new HttpError(STATUS[err.kind], err.kind === "not-found" ? "not found" : err.kind === "invalid" ? "invalid request" : err.kind, err.message);
      throw err;
    }
  };
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.get("/v1/quota/nodes/:id", (req) =>
    guard(() => {
      const n = id(req);
      const chain = tree.chain(n);
      return {
        id: n,
        kind: tree.kindOf(n),
        chain,
        closed: tree.isClosed(n),
        usage: tree.usage(n),
        effective: Object.fromEntries(tree.dimensions.map((d) => [d, Number.isFinite(tree.effectiveHard(n, d)) ? tree.effectiveHard(n, d) : null])),
      };
    }),
  );
  app.post("/v1/quota/nodes/:id/reserve", (req, reply) =>
    guard(() => {
      const body = parseInput(z.object({ amounts }).strict(), req.body, "body");
      const r = tree.reserve(id(req), body.amounts);
      if (!r.ok) throw new HttpError(409, "quota exceeded", r.violations.map((v) => (v.dimension === "*" ? `${v.node} is closed` : `${v.node} ${v.dimension}: ${v.usage} used + ${v.requested} requested > ${v.limit}`)).join("; "));
      void reply.status(200);
      return { ok: true, warnings: r.warnings };
    }),
  );
  app.post("/v1/quota/nodes/:id/release", (req) =>
    guard(() => {
      const body = parseInput(z.object({ amounts }).strict(), req.body, "body");
      tree.release(id(req), body.amounts);
      return { ok: true, usage: tree.usage(id(req)) };
    }),
  );
  app.get("/v1/quota/conflicts", () => ({ conflicts: tree.conflicts() }));

  const overrideBody = z.object({ node: z.string().min(1), dimension: z.string().min(1), hard: z.number().nonnegative(), reason: z.string().min(1), expires_at: z.iso.datetime(), emergency: z.boolean().optional() }).strict();
  app.post("/v1/quota/overrides", (req, reply) =>
    guard(() => {
      const who = principal(req);
      const b = parseInput(overrideBody, req.body, "body");
      tree.chain(b.node);
      if (!tree.dimensions.includes(b.dimension)) throw new QuotaError(`"${b.dimension}" is not a dimension (${tree.dimensions.join(", ")})`);
      const o = tree.overrides.request({ node: b.node, dimension: b.dimension, hard: b.hard, reason: b.reason, requestedBy: who, expiresAt: Date.parse(b.expires_at), emergency: b.emergency });
      void reply.status(201);
      return { ...o, state: tree.overrides.state(o) };
    }),
  );
  app.get("/v1/quota/overrides", () => ({ overrides: tree.overrides.list() }));
  for (const action of ["approve", "reject", "revoke"] as const)
    app.post(`/v1/quota/overrides/:id/${action}`, (req) =>
      guard(() => {
        const o = tree.overrides[action](id(req), principal(req));
        return { ...o, state: tree.overrides.state(o) };
      }),
    );

  const delegationBody = z.object({ from: z.string().min(1), to: z.string().min(1), kind: z.enum(["application", "user"]), amounts, owners: z.array(z.string().min(1)).default([]) }).strict();
  app.post("/v1/quota/delegations", (req, reply) =>
    guard(() => {
      const who = principal(req);
      const b = parseInput(delegationBody, req.body, "body");
      void reply.status(201);
      return delegations.delegate({ ...b, by: who });
    }),
  );
  app.get("/v1/quota/delegations", () => ({ delegations: delegations.list() }));
  app.post("/v1/quota/delegations/:id/revoke", (req) => guard(() => ({ revoked: delegations.revoke(id(req), principal(req)) })));
  return app;
}
