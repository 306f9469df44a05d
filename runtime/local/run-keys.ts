/**
 * The signer keys of a local run. On embedded stores everything is new each run, keys too. With `--postgres`
 * the proof log and the attestation registry outlive the run, so their keys must too: a restarted log signing
 * with a fresh key would fork its own history (the log refuses to start), and a verifier's results and registry
 * events would no longer verify. They are kept in the run's database, beside the stores they sign for.
 */
import pg from "pg";
import { generateKey } from "../prooflog/index.js";

export interface SignerKey {
  signerKey: string;
  verifierKey: string;
}

/** `key(name)`: the run's signer key named `name`, made on first use (and, with PostgreSQL, stored). */
export async function runKeys(postgresUrl: string | undefined): Promise<{ key(name: string, alg?: number): Promise<SignerKey>; close(): Promise<void> }> {
  if (!postgresUrl) return { key: async (name, alg) => generateKey(name, alg), close: async () => undefined };
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query("CREATE SCHEMA IF NOT EXISTS meridian_local");
    await client.query("CREATE TABLE IF NOT EXISTS meridian_local.signer_keys (name text PRIMARY KEY, signer text NOT NULL, verifier text NOT NULL)");
  } catch (e) {
    await client.end();
    throw e;
  }
  return {
    async key(name, alg) {
      const fresh = generateKey(name, alg);
      // First writer wins: two runs racing on one database agree on the key.
      await client.query("INSERT INTO meridian_local.signer_keys VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING", [name, fresh.signerKey, fresh.verifierKey]);
      const { rows } = await client.query<{ signer: string; verifier: string }>("SELECT signer, verifier FROM meridian_local.signer_keys WHERE name = $1", [name]);
      return { signerKey: rows[0]!.signer, verifierKey: rows[0]!.verifier };
    },
    close: () => client.end(),
  };
}
