/**
 * Hostile input for any service's tests. UDP: datagrams a normal socket cannot send — source port 0 —
 * through a raw socket (python3 in CI, as root: the kernel writes the IP header, we write the UDP one),
 * and bursts of junk. HTTP: `hostileHttpSuite`, below.
 */
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";

const RAW_UDP = `
import socket, struct, sys
dst, port, payload = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
# Source port 0, checksum 0 (none, allowed over IPv4): what a normal socket can never send.
s.sendto(struct.pack("!HHHH", 0, port, 8 + len(payload), 0) + payload, (dst, 0))
`;

/** Send one IPv4 UDP datagram from source port 0. */
export function sendFromPortZero(host: string, port: number, payload: Buffer): void {
  execFileSync("/usr/bin/python3", ["-c", RAW_UDP, host, String(port), payload.toString("hex")], { stdio: "pipe" });
}

/** Fire datagrams at a UDP port from an ordinary socket (no replies awaited). */
export async function sprayUdp(host: string, port: number, payloads: readonly Buffer[]): Promise<void> {
  const s = createSocket("udp4");
  try {
    for (const p of payloads) await new Promise<void>((r) => s.send(p, port, host, () => r()));
  } finally {
    s.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: the hostile-input suite a service's test calls with its routes.

export interface HostileRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A real path of the route, e.g. `/v1/inventory/widget`. */
  path: string;
  /** Headers a legitimate caller sends (e.g. X-Region). */
  headers?: Record<string, string>;
  /** True for routes that take a JSON body (malformed-JSON probes). */
  json?: boolean;
}

export interface HostileTarget {
  /** Base URL of the running service (http://host:port). */
  url: string;
  routes: HostileRoute[];
  /** Routes that need an identity: forged identity headers must not open them (401/403). */
  protectedRoutes?: HostileRoute[];
  /** A snapshot of the service's state; it must be equal before and after the probes. */
  state(): Promise<unknown>;
  /** How long to wait for the server to cut a slowloris connection (its headers timeout + slack). */
  slowlorisWaitMs?: number;
}

/**
 * Write `data` on a fresh connection; resolves with what came back when the server closes it or `waitMs` passes —
 * or, with `untilHead`, as soon as a response's status line and headers are in (a server that answered may hold the
 * connection open until its request timeout: a second per probe, that the status does not need).
 */
function rawRequest(url: string, data: string | Buffer, waitMs: number, keepOpen = false, untilHead = false): Promise<{ text: string; closed: boolean; socket: Socket }> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    let text = "";
    const done = (closed: boolean) => {
      clearTimeout(timer);
      if (!keepOpen || closed) socket.destroy();
      resolve({ text, closed, socket });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on("data", (d) => {
      text += d.toString("latin1");
      if (untilHead && text.includes("\r\n\r\n")) done(false);
    });
    socket.on("close", () => done(true));
    socket.on("error", () => undefined);
    socket.write(data);
  });
}

const status = (text: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
const hostHeader = (url: string) => new URL(url).host;
const headerLines = (h: Record<string, string> = {}) =>
  Object.entries(h)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");

/** An unsigned JWT (alg none) claiming to be an operator: a verifier that accepts it is broken. */
const UNSIGNED_JWT = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${Buffer.from('{"sub":"admin","scope":"meridian.operator","iss":"meridian-local","aud":"meridian"}').toString("base64url")}.`;
export const FORGED_IDENTITY_HEADERS: Record<string, string> = {
  "x-spiffe-id": "spiffe://meridian.internal/ns/ops/sa/admin",
  "x-forwarded-client-cert": "By=spiffe://meridian.internal/ns/meridian/sa/escrow;URI=spiffe://meridian.internal/ns/ops/sa/admin",
  "x-client-cert-subject": "CN=admin",
  "x-user": "admin",
  "x-remote-user": "admin",
  "x-forwarded-user": "admin",
  "x-forwarded-for": "127.0.0.1",
  "x-real-ip": "127.0.0.1",
  authorization: `Bearer ${UNSIGNED_JWT}`,
};

/** Malformed and oversized requests get 4xx `{error, detail}` (or 413/431/400 from the transport). */
export async function probeMalformed(t: HostileTarget): Promise<void> {
  for (const r of t.routes) {
    const send = (body: string, type = "application/json") => fetch(`${t.url}${r.path}`, { method: r.method, headers: { ...r.headers, "content-type": type }, body });
    if (r.json) {
      for (const bad of ["{", '{"a":', "[1,2", "nul", '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', "\u0000\u0001"]) {
        const res = await send(bad);
        expect(res.status, `${r.method} ${r.path} with ${JSON.stringify(bad)}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(await res.json()).toMatchObject({ error: expect.any(String), detail: expect.any(String) });
      }
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    }
    if (r.method !== "GET" && r.method !== "DELETE") {
      // Announce 100 MiB: above any service's body limit, refused before a byte of it is read (413, or
      // 401/403 first on a route the caller may not use).
      const type = r.json ? "application/json" : "application/octet-stream";
      const big = await rawRequest(
        t.url,
        `${r.method} ${r.path} HTTP/1.1\r\nHost: ${hostHeader(t.url)}\r\n${headerLines(r.headers)}Content-Type: ${type}\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n{"a":`,
        5000,
        false,
        true,
      );
      expect([401, 403, 413], `${r.method} ${r.path} announcing 100 MiB`).toContain(status(big.text));
    }
    const long = await fetch(`${t.url}${r.path}/${"x".repeat(20_000)}`, { method: r.method, headers: r.headers });
    expect(long.status, `${r.method} ${r.path} with a 20k path`).toBeGreaterThanOrEqual(400);
    expect(long.status).toBeLessThan(500);
  }
  const huge = await rawRequest(t.url, `GET /healthz HTTP/1.1\r\nHost: ${hostHeader(t.url)}\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`, 5000);
  expect(status(huge.text)).toBe(431);
  const junk = await rawRequest(t.url, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n", 5000);
  expect(status(junk.text)).toBe(400);
}

/** A connection that never finishes its headers is cut; bodies abandoned mid-way are not acted on. */
export async function probeSlow(t: HostileTarget): Promise<void> {
  const slow = await rawRequest(t.url, `GET /healthz HTTP/1.1\r\nHost: ${hostHeader(t.url)}\r\nX-Slow: 1`, t.slowlorisWaitMs ?? 15_000);
  expect(slow.closed, "a connection that never finishes its headers is closed").toBe(true);
  for (const r of t.routes.filter((x) => x.method !== "GET")) {
    const head = `${r.method} ${r.path} HTTP/1.1\r\nHost: ${hostHeader(t.url)}\r\n${headerLines(r.headers)}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"partial":`;
    // Up to 200 ms for the server to take the partial body in — or until it has answered (a refusal before the body).
    const { socket } = await rawRequest(t.url, head, 200, true, true);
    socket.destroy(); // the client goes away mid-body
  }
}

/** With hundreds of idle connections open, a new request is still answered. */
export async function probeManyConnections(t: HostileTarget, count = 300): Promise<void> {
  const u = new URL(t.url);
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const s = connect({ host: u.hostname, port: Number(u.port) }, () => resolve(s));
          s.on("error", () => resolve(s));
        }),
    ),
  );
  try {
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  } finally {
    for (const s of sockets) s.destroy();
  }
}

/** Headers a client can set (and an unsigned JWT) open no protected route: 401/403 with `{error, detail}`. */
export async function probeForgedIdentity(t: HostileTarget): Promise<void> {
  for (const r of t.protectedRoutes ?? []) {
    const res = await fetch(`${t.url}${r.path}`, {
      method: r.method,
      headers: { ...r.headers, ...FORGED_IDENTITY_HEADERS, "content-type": "application/json" },
      body: r.method === "GET" ? undefined : "{}",
    });
    expect([401, 403], `${r.method} ${r.path} with forged identity headers`).toContain(res.status);
    expect(await res.json()).toMatchObject({ error: expect.any(String), detail: expect.any(String) });
  }
}

/**
 * Register the hostile-input tests for a service: malformed and oversized input, slow and truncated
 * requests, many connections and forged identities must each be refused clearly (4xx with `{error,
 * detail}`, or the connection cut), leave `state()` unchanged, and leave the process answering /healthz.
 */
export function hostileHttpSuite(name: string, target: () => HostileTarget): void {
  // In this order even when tests are shuffled (--sequence.shuffle): the last test checks the state the probes left.
  describe(`${name}: hostile input`, { shuffle: false }, () => {
    let before: unknown;
    beforeAll(async () => {
      before = await target().state();
    });
    it("refuses malformed and oversized requests with {error, detail}", () => probeMalformed(target()));
    it("cuts slow (slowloris) and truncated requests without acting on them", () => probeSlow(target()));
    it("keeps serving with many connections open", () => probeManyConnections(target()));
    it("does not take identity from headers a client can set", () => probeForgedIdentity(target()));
    it("leaves the state unchanged and the process alive", async () => {
      const t = target();
      expect(await t.state()).toEqual(before);
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    });
  });
}
