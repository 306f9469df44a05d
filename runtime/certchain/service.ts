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
 *
 * With `retain`, only the last `retain` certificates are held: older history is pruned (a range below the first
 * held height answers 410), and with `data` the files are compacted: `base.json` (the first held certificate and the
 * committee that signed it, written first) becomes where a restart starts, and `chain.jsonl` is rewritten from it,
 * each by an atomic rename. Evidence lines carry the committee then in force, so evidence at a pruned height survives.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readJsonFile } from "../common/json-file.js";
import { defineService, HttpError, parseInput } from "../kit/index.js";
import { CertChain, ForkError } from "./chain.js";
import { CertError } from "./errors.js";
import { certHash, type Certificate } from "./certificates.js";
import { BaseJson, CertificateJson, CommitteeJson, EvidenceJson, StoredEvidenceJson } from "./schema.js";

const certConfigSchema = z
  .object({
    /** The committee trusted for the start certificate (JSON file). */
    committee: z.string().min(1),
    /** The checkpoint certificate the chain starts from (JSON file). */
    start: z.string().min(1),
    /** Directory where accepted certificates and evidence persist. Default: memory. */
    data: z.string().min(1).optional(),
    /** Hold only the last N certificates; older history is pruned (and compacted out of `data`). Default: all. */
    retain: z.number().int().min(1).optional(),
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

/** Replay a JSON-lines file through `accept`, naming the line that fails; returns the number of lines. */
function replay<T>(file: string, schema: z.ZodType<T>, accept: (v: T) => void): number {
  if (!existsSync(file)) return 0;
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "");
  lines.forEach((line, i) => {
    try {
      accept(schema.parse(JSON.parse(line)));
    } catch (e) {
      throw new CertError(`${file} line ${i + 1}: ${(e as Error).message}`);
    }
  });
  return lines.length;
}

/** Replace `file` whole: written beside it, then renamed over it (a crash leaves the old or the new file). */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

export const certService = defineService({
  name: "cert",
  config: certConfigSchema,
  start({ config }) {
    const committee = readJsonFile(config.committee, "a committee (committee)", CommitteeJson, configError);
    const start = readJsonFile(config.start, "a certificate (start)", CertificateJson, configError);
    const files = config.data === undefined ? undefined : { chain: join(config.data, "chain.jsonl"), evidence: join(config.data, "evidence.jsonl"), base: join(config.data, "base.json") };
    // After pruning, the data's base (verified when it was appended) is where the chain starts, unless --start is later.
    const base = files && existsSync(files.base) ? readJsonFile(files.base, "the pruned chain's base (base.json)", BaseJson, configError) : undefined;
    const chain = base && base.certificate.height > start.height ? new CertChain(base.certificate, base.committee) : new CertChain(start, committee);
    let onFile = 0;
    const compact = () => {
      if (!files) return;
      const held = chain.range(chain.firstHeight + 1, Number.MAX_SAFE_INTEGER);
      replaceFile(files.base, `${JSON.stringify({ certificate: chain.base.cert, committee: chain.base.committee })}\n`);
      replaceFile(files.chain, held.map((c) => `${JSON.stringify(c)}\n`).join(""));
      onFile = held.length;
    };
    const prune = () => {
      if (config.retain === undefined || !chain.prune(config.retain)) return;
      // Rewrite the file once it holds as many pruned certificates as kept ones: amortised O(1) per append.
      if (onFile > 2 * config.retain) compact();
    };
    if (files) {
      mkdirSync(config.data!, { recursive: true });
      // Lines below the first held height were pruned (a base or a later --start): skipped.
      onFile = replay(files.chain, CertificateJson, (c) => void (c.height >= chain.firstHeight && chain.append(c)));
      replay(files.evidence, StoredEvidenceJson, (e) => {
        if (e.a.height >= chain.firstHeight) chain.submitEvidence(e.a, e.b);
        else if (e.committee) chain.restoreEvidence(e.a, e.b, e.committee);
      });
    }
    if (config.retain !== undefined && chain.prune(config.retain)) compact();
    const evidenceLine = (a: Certificate, b: Certificate) => `${JSON.stringify({ a, b, committee: chain.committeeAt(a.height) })}\n`;
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
                  .map((x) => evidenceLine(x.a, x.b))
                  .join(""),
              );
            refuse(e);
          }
          if (added && files) {
            appendFileSync(files.chain, `${JSON.stringify(c)}\n`);
            onFile++;
          }
          if (added) prune();
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
          if (files) appendFileSync(files.evidence, evidenceLine(e.a, e.b));
          return { evidence: found };
        });
        app.get("/v1/evidence", { config: { auth: "public" } }, async () => ({ evidence: chain.evidence }));
      },
    };
  },
});
