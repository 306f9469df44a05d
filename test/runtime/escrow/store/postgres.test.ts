// The store suite against the real PostgreSQL (database meridian_escrow_test, a throwaway schema).
import { afterAll, beforeAll } from "vitest";
import { PostgresEscrowStore } from "../../../../runtime/escrow/store/postgres.js";
import { describeEscrowStore } from "./suite.js";
import { PG_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const schema = uniqueName("suite");
beforeAll(ensurePgDatabase);
afterAll(() => dropPgSchema(schema));

describeEscrowStore("postgres", () => new PostgresEscrowStore({ url: PG_URL, schema }), { numRuns: 25 });
