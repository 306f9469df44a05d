/** The real servers the quota service tests use: the `meridian_quota_test` database (a schema per test) and a proof log. */
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { ensureDatabase } from "../../pg-database.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth } from "../../../runtime/kit/index.js";
import { decodeAuditEvent, generateKey, LogClient, openCheckpoint, newVerifier, parseCheckpoint, parseSignedNote, type AuditEvent } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/services.js";

export const PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
export const PG_URL = "postgres://postgres@127.0.0.1:5432/meridian_quota_test";

export const uniqueSchema = (stem: string) => `${stem}_${process.pid}_${randomBytes(3).toString("hex")}`;

export const ensureQuotaDb = (): Promise<void> => ensureDatabase("meridian_quota_test");

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}

export const TREE = {
  dimensions: ["cpu", "memory", "storage"],
  emergency_grace_ms: 60_000,
  authorities: ["quota-admin"],
  tenants: [
    {
      id: "acme",
      hard: { cpu: 100, memory: 64 },
      owners: ["acme-admin"],
      applications: [{ id: "shop", hard: { cpu: 10 }, owners: ["shop-lead", "shop-colead"], users: [{ id: "alice", owners: ["alice"] }] }],
    },
  ],
};

/** A proof log on a temporary directory, and a reader of the audit events it holds. */
export async function startAuditLog() {
  const origin = `meridian.test/quota-${randomBytes(3).toString("hex")}`;
  const keys = generateKey(origin);
  const server = await startLogServer({ origin, signerKey: keys.signerKey, dataDir: mkdtempSync(join(tmpdir(), "quota-log-")), port: 0, checkpointIntervalMs: 20, notice: () => undefined });
  const client = new LogClient(server.url);
  return {
    url: server.url,
    close: () => server.app.close(),
    /** Every audit event in the log once its checkpoint covers `atLeast` entries. */
    async events(atLeast: number): Promise<AuditEvent[]> {
      for (;;) {
        const cp = openCheckpoint(await client.checkpoint(), [newVerifier(keys.verifierKey)], origin).checkpoint;
        if (cp.size >= atLeast) return (await client.entries(0, cp.size, cp.size)).map((e) => decodeAuditEvent(e));
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async size(): Promise<number> {
      return parseCheckpoint(parseSignedNote(await client.checkpoint()).text).size;
    },
  };
}

/** JWTs from the issuer the service trusts (`auth` goes in `server.auth`). */
export async function issuer() {
  const a = await localOperatorAuth(systemClock, "https://issuer.test", "meridian-quota");
  return { auth: a.auth, as: async (subject: string) => ({ authorization: `Bearer ${await a.token({ subject, scope: "meridian.quota" })}` }) };
}
