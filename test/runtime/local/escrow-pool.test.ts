import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RemoteEscrowStore } from "../../../runtime/local/escrow-pool.js";

/** A stand-in for the supervisor's pool: `answer` decides each request (undefined: hang, never answer). */
async function pool(answer: (req: IncomingMessage, n: number) => { status: number; body: unknown } | undefined) {
  const seen: string[] = [];
  const hung: ServerResponse[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume().on("end", () => {
      const a = answer(req, seen.length);
      if (!a) return void hung.push(res);
      res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => {
    for (const r of hung) r.destroy();
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  };
  closers.push(close);
  return { url, seen };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
const token = () => "t";

describe("RemoteEscrowStore (a region's view of the supervisor's escrow pool)", () => {
  it("connects through a first attempt that hangs past its timeout: a busy supervisor does not end a region's start", async () => {
    const p = await pool((_req, n) => (n === 1 ? undefined : { status: 200, body: { kind: "memory" } }));
    const store = await RemoteEscrowStore.connect(p.url, token, 200, 10_000);
    expect(store.kind).toBe("memory");
    expect(p.seen).toEqual(["GET /v1/pool", "GET /v1/pool"]);
  });

  it("gives up once its patience is spent, naming the pool and the attempts", async () => {
    const p = await pool(() => undefined);
    await expect(RemoteEscrowStore.connect(p.url, token, 100, 300)).rejects.toThrow(new RegExp(`escrow pool at ${p.url}: no answer after [2-9] attempt\\(s\\)`));
  });

  it("a refusal is final: one attempt, the pool's answer in the error", async () => {
    const p = await pool(() => ({ status: 403, body: { error: "forbidden" } }));
    await expect(RemoteEscrowStore.connect(p.url, token, 200, 10_000)).rejects.toThrow(/HTTP 403/);
    expect(p.seen).toHaveLength(1);
  });

  it("asks again only for the idempotent createItem; a hung acquire fails after one attempt (it may have been applied)", async () => {
    let creates = 0;
    const p = await pool((req) => {
      if (req.url === "/v1/pool") return { status: 200, body: { kind: "memory" } };
      if (req.url === "/v1/pool/createItem") return ++creates === 1 ? undefined : { status: 200, body: { result: "exists" } };
      return undefined;
    });
    const store = await RemoteEscrowStore.connect(p.url, token, 200, 10_000);
    await expect(store.createItem("sku", 10, { a: 10 }, 0)).resolves.toBe("exists");
    expect(creates).toBe(2);
    await expect(store.acquire({} as never)).rejects.toThrow();
    expect(p.seen.filter((s) => s.endsWith("/acquire"))).toHaveLength(1);
  });

  it("reachable(): a call answered since the last check shows the pool reachable without asking; else one light GET", async () => {
    let up = true;
    const p = await pool((req) => {
      if (!up) return { status: 503, body: { error: "down" } };
      if (req.url === "/v1/pool") return { status: 200, body: { kind: "memory" } };
      return { status: 200, body: { result: null } };
    });
    const store = await RemoteEscrowStore.connect(p.url, token, 200, 10_000);
    await store.audit("sku", 0);
    const asked = p.seen.length;
    await expect(store.reachable()).resolves.toBe(true);
    expect(p.seen).toHaveLength(asked); // the audit's answer was enough
    await expect(store.reachable()).resolves.toBe(true);
    expect(p.seen.slice(asked)).toEqual(["GET /v1/pool"]); // nothing answered since: one GET, no operation run
    up = false;
    await expect(store.audit("sku", 0)).rejects.toThrow(/HTTP 503/);
    await expect(store.reachable()).rejects.toThrow(/escrow pool at .*: HTTP 503/); // a refused call does not count as an answer
  });
});
