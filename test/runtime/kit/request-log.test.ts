// A request's logger is made only when the request logs (runtime/kit/request-log.ts): requests that log
// nothing make no pino child, and one that does logs with its request id as before.
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { itemsService } from "./fixture.js";

describe("request loggers", () => {
  let svc: RunningService;
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  let children = 0;
  // Every logger the service makes descends from this one and inherits its `child`, so this counts them all.
  const child = log.child.bind(log);
  beforeAll(async () => {
    Object.assign(log, {
      child(this: pino.Logger, ...args: Parameters<pino.Logger["child"]>) {
        children++;
        return child.call(this, ...args);
      },
    });
    svc = await startService(itemsService, { server: { port: 0 } }, { processMetrics: false, logger: log });
  });
  afterAll(() => svc?.close());

  it("makes no child logger for requests that log nothing", async () => {
    const before = children;
    for (let i = 0; i < 5; i++) expect((await fetch(`${svc.url}/v1/hello`)).status).toBe(200);
    expect((await fetch(`${svc.url}/v1/items/7`)).status).toBe(404);
    expect(children).toBe(before);
  });

  it("logs a failed request with its request id, through the child made for it", async () => {
    const before = children;
    const res = await fetch(`${svc.url}/v1/boom`);
    expect(res.status).toBe(500);
    const { detail } = (await res.json()) as { detail: string };
    const id = /^request (\S+) failed/.exec(detail)?.[1];
    expect(id).toBeDefined();
    const line = lines.find((l) => l["msg"] === "request failed");
    expect(line).toMatchObject({ reqId: id, level: 50, err: { message: "secret internal detail" } });
    expect(children).toBe(before + 1);
  });
});
