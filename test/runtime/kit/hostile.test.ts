// The hostile-input suite against the kit's own fixture service: the suite itself must catch what it claims
// to (see kit.test.ts for each refusal's exact shape).
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { hostileHttpSuite, probeForgedIdentity, probeSlow, type HostileTarget } from "../../hostile.js";
import { itemsService } from "./fixture.js";

let svc: Awaited<ReturnType<typeof startService<typeof itemsService.config, Awaited<ReturnType<typeof itemsService.start>>>>>;
beforeAll(async () => {
  const op = await localOperatorAuth(systemClock);
  svc = await startService(
    itemsService,
    { peers: ["spiffe://kit.test/ns/meridian/sa/escrow"], server: { port: 0, auth: op.auth, timeouts: { headersMs: 500, requestMs: 1000 } } },
    { processMetrics: false },
  );
  svc.parts.items.push("existing");
});
afterAll(() => svc?.close());

hostileHttpSuite("kit fixture service", () => ({
  url: svc.url,
  routes: [
    { method: "POST", path: "/v1/items", json: true },
    { method: "GET", path: "/v1/items/0" },
  ],
  protectedRoutes: [
    { method: "POST", path: "/admin/reset" },
    { method: "GET", path: "/peer" },
  ],
  state: async () => [...svc.parts.items],
  slowlorisWaitMs: 4000,
}));

// The probes are not vacuous: a hand-built server with none of the kit's defences fails them.
describe("the probes catch an undefended server", () => {
  let naive: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    naive = Fastify();
    naive.post("/admin/reset", async (req, reply) => (req.headers["x-user"] === "admin" ? { reset: true } : reply.status(401).send({ error: "no", detail: "no" })));
    url = await naive.listen({ port: 0, host: "127.0.0.1" });
  });
  afterAll(() => naive?.close());
  const t = (): HostileTarget => ({ url, routes: [], protectedRoutes: [{ method: "POST", path: "/admin/reset" }], state: async () => null, slowlorisWaitMs: 2000 });

  it("trusting x-user fails the forged-identity probe", async () => {
    await expect(probeForgedIdentity(t())).rejects.toThrow(/forged identity headers/);
  });
  it("Node's default 60 s headers timeout fails the slowloris probe", async () => {
    await expect(probeSlow(t())).rejects.toThrow(/never finishes its headers/);
  });
});
