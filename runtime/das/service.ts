/**
 * The data-availability sampling service (kit): serves one encoded blob's shards from a directory written by
 * `meridian das encode`, each with its inclusion proof, so light clients sample over HTTP.
 *
 *   GET /v1/das/commitment      → {k, n, length, shardSize, root}
 *   GET /v1/das/shards/:index   → {index, shard: base64, proof: [hex]}   404 when the shard file is absent
 *
 * Shards are read from disk per request: a file removed from the directory is withheld from then on (which is what
 * sampling is meant to notice). Reads are public.
 */
import { z } from "zod";
import { defineService, HttpError } from "../kit/index.js";
import { readCommitment, readShard } from "./files.js";

const dasConfigSchema = z.object({ dir: z.string().min(1) }).strict();

export const dasService = defineService({
  name: "das",
  config: dasConfigSchema,
  start({ config }) {
    const c = readCommitment(config.dir);
    return {
      routes(app) {
        app.get("/v1/das/commitment", { config: { auth: "public" } }, async () => ({ k: c.k, n: c.n, length: c.length, shardSize: c.shardSize, root: c.root }));
        app.get("/v1/das/shards/:index", { config: { auth: "public" } }, async (req) => {
          const raw = (req.params as { index: string }).index;
          const index = /^[0-9]{1,3}$/.test(raw) ? Number(raw) : NaN;
          if (!(index < c.n)) throw new HttpError(400, "bad shard index", `expected an integer in 0..${c.n - 1}, got ${JSON.stringify(raw)}`);
          const shard = readShard(config.dir, index);
          if (!shard) throw new HttpError(404, "shard not available", `shard ${index} is not held here`);
          return { index, shard: Buffer.from(shard).toString("base64"), proof: c.proofs[index] };
        });
      },
    };
  },
});
