/**
 * The certificate chain service (kit), `meridian cert serve`: holds a chain of checkpoint certificates from a trusted
 * checkpoint certificate on and serves it for light clients to fast-sync.
 *
 *   GET  /v1/certs/latest          → {height, hash, certificate}
 *   GET  /v1/certs?from=H&limit=N  → {first, latest, certificates}   (N ≤ 1000; a range below `first` is pruned: 410)
 *   GET  /v1/certs/:height         → {height, hash, certificate}
 *   POST /v1/certs        certificate → 201 {height, hash} (200 when already held); 409 on a fork (evidence kept)
 *   POST /v1/evidence     {a, b}      → {evidence}   two certificates at one height signed by the same members
 *   GET  /v1/evidence              → {evidence}
 *
 * Every route is public: a certificate carries its committee's quorum and evidence its members' signatures, both
 * verified here before anything is kept. With `data`, accepted certificates and evidence are appended to
 * `chain.jsonl` and `evidence.jsonl` there and re-verified at start.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile } from "../common/json-file.js";
import { defineService, HttpError, parseInput } from "../kit/index.js";
import { CertChain, ForkError } from "./chain.js";
import { CertError } from "./errors.js";
import { certHash, type Certificate } from "./certificates.js";
import { CertificateJson, CommitteeJson, EvidenceJson } from "./schema.js";

const certConfigSchema = z
  .object({
    /** The committee trusted for the start certificate (JSON file). */
    committee: z.string().min(1),
    /** The checkpoint certificate the chain starts from (JSON file). */
    start: z.string().min(1),
    /** Directory where accepted certificates and evidence persist. Default: memory. */
    data: z.string().min(1).optional(),
  })
  .strict();

const rangeQuery = z
  .object({
    from: z
      .string()
      .regex(/^[0-9]{1,15}$/, "a height")
      .transform(Number)
      .optional(),
    limit: z
      .string()
      .regex(/^[0-9]{1,4}$/, "an integer")
      .transform(Number)
      .pipe(z.number().int().min(1).max(1000))
      .optional(),
  })
  .strict();
const heightParam = z
  .object({
    height: z
      .string()
      .regex(/^[0-9]{1,15}$/, "a height")
      .transform(Number),
  })
  .strict();

const configError = (m: string) => new CertError(m);
const view = (c: Certificate) => ({ height: c.height, hash: certHash(c), certificate: c });

/** Replay a JSON-lines file through `accept`, naming the line that fails. */
function replay<T>(file: string, schema: z.ZodType<T>, accept: (v: T) => void): void {
  if (!existsSync(file)) return;
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (line === "") return;
      try {
        accept(schema.parse(JSON.parse(line)));
      } catch (e) {
        throw new CertError(`${file} line ${i + 1}: ${(e as Error).message}`);
      }
    });
}

export const certService = defineService({
  name: "cert",
  config: certConfigSchema,
  start({ config }) {
    const committee = readJsonFile(config.committee, "a committee (committee)", CommitteeJson, configError);
    const start = readJsonFile(config.start, "a certificate (start)", CertificateJson, configError);
    const chain = new CertChain(start, committee);
    const files = config.data === undefined ? undefined : { chain: join(config.data, "chain.jsonl"), evidence: join(config.data, "evidence.jsonl") };
    if (files) {
      mkdirSync(config.data!, { recursive: true });
      replay(files.chain, CertificateJson, (c) => void chain.append(c));
      replay(files.evidence, EvidenceJson, (e) => void chain.submitEvidence(e.a, e.b));
    }
    const refuse = (e: unknown): never => {
      if (e instanceof ForkError) throw new HttpError(409, "fork", e.message);
      if (e instanceof CertError) throw new HttpError(400, "certificate refused", e.message);
      throw e;
    };
    return {
      chain,
      routes(app) {
        app.get("/v1/certs/latest", { config: { auth: "public" } }, async () => view(chain.latest));
        app.get("/v1/certs", { config: { auth: "public" } }, async (req) => {
          const q = parseInput(rangeQuery, req.query, "query");
          const from = q.from ?? chain.firstHeight;
          if (from < chain.firstHeight) throw new HttpError(410, "pruned", `the chain here starts at height ${chain.firstHeight}`);
          return { first: chain.firstHeight, latest: chain.latest.height, certificates: chain.range(from, q.limit ?? 100) };
        });
        app.get("/v1/certs/:height", { config: { auth: "public" } }, async (req) => {
          const { height } = parseInput(heightParam, req.params, "path");
          const c = chain.at(height);
          if (c === undefined) throw new HttpError(404, "no such certificate", `held: heights ${chain.firstHeight}..${chain.latest.height}`);
          return view(c);
        });
        app.post("/v1/certs", { config: { auth: "public" }, bodyLimit: 1 << 20 }, async (req, reply) => {
          const c = parseInput(CertificateJson, req.body, "body");
          let added = false;
          try {
            added = chain.append(c);
          } catch (e) {
            if (files && e instanceof ForkError)
              appendFileSync(
                files.evidence,
                chain.evidence
                  .filter((x) => x.a.height === c.height)
                  .map((x) => `${JSON.stringify({ a: x.a, b: x.b })}\n`)
                  .join(""),
              );
            refuse(e);
          }
          if (added && files) appendFileSync(files.chain, `${JSON.stringify(c)}\n`);
          return reply.code(added ? 201 : 200).send({ height: c.height, hash: certHash(c) });
        });
        app.post("/v1/evidence", { config: { auth: "public" }, bodyLimit: 2 << 20 }, async (req) => {
          const e = parseInput(EvidenceJson, req.body, "body");
          let found;
          try {
            found = chain.submitEvidence(e.a, e.b);
          } catch (err) {
            if (err instanceof CertError) throw new HttpError(400, "not equivocation evidence", err.message);
            throw err;
          }
          if (files) appendFileSync(files.evidence, `${JSON.stringify(e)}\n`);
          return { evidence: found };
        });
        app.get("/v1/evidence", { config: { auth: "public" } }, async () => ({ evidence: chain.evidence }));
      },
    };
  },
});
