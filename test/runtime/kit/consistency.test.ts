// Consistency tokens on the kit: a successful write answers with the service's token, taken after the handler
// (the write) finished; reads and refused writes carry none unless the service sets it; a token a request
// carries reaches the handler as sent.
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSISTENCY_HEADER, consistencyTokenOf, defineService, HttpError, startService, type RunningService } from "../../../runtime/kit/index.js";

let position = 0;
const counter = defineService({
  name: "counter",
  config: z.object({}).strict(),
  start: () => ({
    consistency: { token: () => `lsn-${position}` },
    routes(app) {
      const pub = { config: { auth: "public" as const } };
      app.post("/v1/increment", pub, async () => ({ position: ++position }));
      app.post("/v1/refuse", pub, async () => {
        throw new HttpError(409, "conflict", "refused");
      });
      app.get("/v1/echo", pub, async (req) => ({ token: consistencyTokenOf(req) ?? null }));
    },
  }),
});

let svc: RunningService;
beforeAll(async () => {
  svc = await startService(counter, { server: { port: 0 } }, { processMetrics: false });
});
afterAll(() => svc.close());

describe("consistency tokens", () => {
  it("stamp successful writes, after the write", async () => {
    const a = await fetch(`${svc.url}/v1/increment`, { method: "POST" });
    const b = await fetch(`${svc.url}/v1/increment`, { method: "POST" });
    expect(a.headers.get(CONSISTENCY_HEADER)).toBe("lsn-1");
    expect(b.headers.get(CONSISTENCY_HEADER)).toBe("lsn-2");
  });

  it("leave reads and refused writes unstamped, and hand a request's token to the handler", async () => {
    expect((await fetch(`${svc.url}/v1/refuse`, { method: "POST" })).headers.get(CONSISTENCY_HEADER)).toBeNull();
    const echo = await fetch(`${svc.url}/v1/echo`, { headers: { [CONSISTENCY_HEADER]: "lsn-2" } });
    expect(echo.headers.get(CONSISTENCY_HEADER)).toBeNull();
    expect(await echo.json()).toEqual({ token: "lsn-2" });
  });
});
