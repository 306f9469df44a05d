/** An escrow server on the shared test PostgreSQL (its HTLC ledger there), in a fresh schema, for one test file or describe block. */
import { afterAll, beforeAll } from "vitest";
import { startEscrowServer, type EscrowServer } from "../../../../runtime/escrow/index.js";
import { testConfig } from "../fixture.js";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

export function escrowOnPostgres(name: string): { readonly server: EscrowServer; readonly schema: string } {
  const schema = uniqueName(name);
  let server: EscrowServer | undefined;
  beforeAll(async () => {
    await ensurePgDatabase();
    server = await startEscrowServer({ config: await testConfig(["r1"]), port: 0, host: "127.0.0.1", postgresUrl: PG_URL, schema });
  });
  afterAll(async () => {
    await server?.close();
    await dropPgSchema(schema);
  });
  return {
    get server() {
      if (!server) throw new Error("the escrow server is not started (use it inside a test)");
      return server;
    },
    schema,
  };
}
