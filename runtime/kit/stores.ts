/**
 * Store reachability: the kit probes every store a service names before the service starts (one line and
 * exit 1 when one does not answer within the store timeout — no retry storm, no hang) and again on each
 * /readyz. Probes hold one quiet connection of their own (Redis PING, PostgreSQL SELECT 1, the NATS INFO
 * greeting), so readiness reflects the store, not the service's connection pool state. URLs are shown with
 * their passwords redacted.
 */
import { connect as tcpConnect } from "node:net";
// The drivers load with the first probe of their kind: a service without Redis or PostgreSQL never loads them.
import type { Redis } from "ioredis";
import type pg from "pg";
import { StoreUnreachableError } from "./errors.js";

export type StoreSpec =
  | { kind: "redis"; url: string }
  | { kind: "postgres"; url: string }
  | { kind: "nats"; url: string }
  /** Anything else: `check` resolves when the store answers, rejects with the reason when not. */
  | { kind: "custom"; target: string; check(): Promise<void>; close?(): Promise<void> };

export interface StoreProbe {
  name: string;
  /** Where the store is, password redacted. */
  target: string;
  check(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
  }
}

/** Reject after `ms` with a timeout reason; the caller's promise keeps running (probes are idempotent). */
export function within<T>(ms: number, what: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    what,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function storeProbe(name: string, spec: StoreSpec): StoreProbe {
  switch (spec.kind) {
    case "redis":
      return redisProbe(name, spec.url);
    case "postgres":
      return postgresProbe(name, spec.url);
    case "nats":
      return natsProbe(name, spec.url);
    case "custom":
      return { name, target: spec.target, check: (ms) => within(ms, spec.check()), close: async () => spec.close?.() };
  }
}

function redisProbe(name: string, url: string): StoreProbe {
  let client: Redis | null = null;
  const target = redactUrl(url);
  return {
    name,
    target,
    async check(ms) {
      const { Redis } = await import("ioredis");
      if (client === null) {
        client = new Redis(url, {
          lazyConnect: true,
          connectTimeout: ms,
          // Fail commands at once while disconnected instead of queueing them behind a reconnect.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          retryStrategy: () => 1000,
          reconnectOnError: () => false,
        });
        // The probe's errors are reported by check(); without a listener ioredis prints each retry.
        let cause: Error | undefined;
        client.on("error", (e: Error) => (cause ??= e));
        try {
          await within(ms, client.connect());
        } catch (e) {
          client.disconnect();
          client = null;
          // connect() rejects with "Connection is closed."; the socket's own error says why.
          throw cause ?? e;
        }
      }
      const pong = await within(ms, client.ping());
      if (pong !== "PONG") throw new Error(`PING answered ${pong}`);
    },
    async close() {
      client?.disconnect();
      client = null;
    },
  };
}

function postgresProbe(name: string, url: string): StoreProbe {
  let pool: pg.Pool | null = null;
  return {
    name,
    target: redactUrl(url),
    async check(ms) {
      const { default: pg } = await import("pg");
      if (pool === null) {
        pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: ms, idleTimeoutMillis: 30_000, query_timeout: ms });
        pool.on("error", () => undefined);
      }
      await within(ms, pool.query("SELECT 1"));
    },
    async close() {
      const p = pool;
      pool = null;
      await p?.end().catch(() => undefined);
    },
  };
}

/** NATS greets every client with `INFO {…}`: receiving it proves the server is up and speaking NATS. */
function natsProbe(name: string, url: string): StoreProbe {
  const u = new URL(url.includes("://") ? url : `nats://${url}`);
  const host = u.hostname;
  const port = Number(u.port || 4222);
  return {
    name,
    target: redactUrl(url),
    check: (ms) =>
      within(
        ms,
        new Promise<void>((resolve, reject) => {
          const socket = tcpConnect({ host, port });
          let seen = "";
          socket.setTimeout(ms, () => socket.destroy(new Error(`no answer within ${ms} ms`)));
          socket.on("data", (chunk) => {
            seen += chunk.toString("latin1");
            if (seen.startsWith("INFO ")) {
              socket.destroy();
              resolve();
            } else if (seen.length >= 5) socket.destroy(new Error("the server does not speak NATS"));
          });
          socket.on("error", reject);
          socket.on("close", () => reject(new Error("connection closed before the NATS greeting")));
        }),
      ),
    close: async () => undefined,
  };
}

/** Probe every store once at startup, in parallel; the first failure becomes a StoreUnreachableError. */
export async function preflight(probes: readonly StoreProbe[], timeoutMs: number): Promise<void> {
  const results = await Promise.allSettled(probes.map((p) => p.check(timeoutMs)));
  for (const [i, r] of results.entries()) {
    if (r.status === "rejected") {
      const p = probes[i]!;
      throw new StoreUnreachableError(p.name, p.target, reasonOf(r.reason));
    }
  }
}

export function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { errors?: unknown[] };
  // Node reports a refused dual-stack connect as an AggregateError with no message of its own.
  if (Array.isArray(e.errors) && e.errors.length > 0) return reasonOf(e.errors[0]);
  return e.message || e.code || String(err);
}
