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
 *   GET  /v1/status                → {mode, first, height, hash, root, committee, checkpoint, evidence, lastError}
 *
 * With `issue` it also makes the chain (issuer.ts): each round the proof log's latest group-signed checkpoint is
 * certified by the witnesses' threshold group (one BLS signature); without `start` its first certificate is the
 * genesis. With `follow` it is a light client of another region's service (follow.ts) keeping what it verified; without
 * `start` it starts from that service's first certificate `committee` signed (after a hand-over to it, past the old
 * group's history). Either reports on /metrics:
 * meridian_certchain_height and meridian_certchain_equivocations.
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
import { Gauge } from "prom-client";
import { ConfigFileError, defineService, HttpError, parseInput } from "../kit/index.js";
import { parseCheckpoint } from "../prooflog/index.js";
import { followRound, refusalUnder, upstreamStart } from "./follow.js";
import { Issuer } from "./issuer.js";
import { isGroup } from "./group.js";
import { CertChain, ForkError } from "./chain.js";
import { CertError } from "./errors.js";
import { certHash, describeCommittee, type Certificate, type Committee } from "./certificates.js";
import { BaseJson, CertificateJson, CommitteeJson, EvidenceJson, StoredEvidenceJson } from "./schema.js";

const certConfigSchema = z
  .object({
    /** The committee trusted for the start certificate (JSON file). */
    committee: z.string().min(1),
    /** The checkpoint certificate the chain starts from (JSON file); with `issue` or `follow` it may be left out. */
    start: z.string().min(1).optional(),
    /** Directory where accepted certificates and evidence persist. Default: memory. */
    data: z.string().min(1).optional(),
    /** Hold only the last N certificates; older history is pruned (and compacted out of `data`). Default: all. */
    retain: z.number().int().min(1).optional(),
    /**
     * Issue certificates of the proof log's checkpoints, signed by the witnesses' threshold group (`committee` is then
     * its group.json, with the commitments that check each witness's partial): the log's URL and verifier key (or a
     * file holding it), the group's note name, the witnesses' URLs, and optionally `next`, the group.json of a group to
     * hand over to (a rotation certificate this group signs).
     */
    issue: z
      .object({
        log: z.url(),
        logKey: z.string().min(1),
        name: z.string().regex(/^[^\s+]+$/, "a note key name: no spaces or '+'"),
        witnesses: z.array(z.url()).min(1),
        next: z.string().min(1).optional(),
        intervalMs: z.number().int().min(10).default(10_000),
      })
      .strict()
      .optional(),
    /** Follow another certchain service (a light client that keeps what it verified). */
    follow: z
      .object({ url: z.url(), intervalMs: z.number().int().min(10).default(10_000) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => !(c.issue && c.follow), { message: "issue or follow, not both", path: ["follow"] })
  .refine((c) => c.start !== undefined || c.issue !== undefined || c.follow !== undefined, { message: "a start certificate is needed unless the service issues or follows", path: ["start"] });

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
  let text = readFileSync(file, "utf8");
  // A line without its newline was cut by a crash mid-append (kill -9): it was never acknowledged, so it is dropped.
  if (text !== "" && !text.endsWith("\n")) {
    text = text.slice(0, text.lastIndexOf("\n") + 1);
    replaceFile(file, text);
  }
  const lines = text.split("\n").filter((line) => line !== "");
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

/** The chain once it has a first certificate (an issuer before genesis, a follower before its first sync have none). */
class Held {
  chain: CertChain | undefined;
  need(): CertChain {
    if (this.chain === undefined) throw new HttpError(503, "no certificate yet", "the chain has no first certificate yet (the issuer or follower has not completed a round)");
    return this.chain;
  }
}

export const certService = defineService({
  name: "cert",
  config: certConfigSchema,
  async start({ config, log, metrics }) {
    const committee = readJsonFile(config.committee, "a committee (committee)", CommitteeJson, configError);
    const start = config.start === undefined ? undefined : readJsonFile(config.start, "a certificate (start)", CertificateJson, configError);
    const files = config.data === undefined ? undefined : { chain: join(config.data, "chain.jsonl"), evidence: join(config.data, "evidence.jsonl"), base: join(config.data, "base.json") };
    // After pruning (or a first certificate issued or followed here), the data's base is where the chain starts, unless --start is later.
    const base = files && existsSync(files.base) ? readJsonFile(files.base, "the chain's base (base.json)", BaseJson, configError) : undefined;
    const held = new Held();
    if (base && (start === undefined || base.certificate.height > start.height)) held.chain = new CertChain(base.certificate, base.committee);
    else if (start) held.chain = new CertChain(start, committee);
    let onFile = 0;
    const compact = () => {
      const chain = held.chain;
      if (!files || !chain) return;
      const rest = chain.range(chain.firstHeight + 1, Number.MAX_SAFE_INTEGER);
      replaceFile(files.base, `${JSON.stringify({ certificate: chain.base.cert, committee: chain.base.committee })}\n`);
      replaceFile(files.chain, rest.map((c) => `${JSON.stringify(c)}\n`).join(""));
      onFile = rest.length;
    };
    const prune = () => {
      if (config.retain === undefined || !held.chain?.prune(config.retain)) return;
      // Rewrite the file once it holds as many pruned certificates as kept ones: amortised O(1) per append.
      if (onFile > 2 * config.retain) compact();
    };
    if (files) {
      mkdirSync(config.data!, { recursive: true });
      const chain = held.chain;
      // Lines below the first held height were pruned (a base or a later --start): skipped.
      if (chain) onFile = replay(files.chain, CertificateJson, (c) => void (c.height >= chain.firstHeight && chain.append(c)));
      replay(files.evidence, StoredEvidenceJson, (e) => {
        if (chain && e.a.height >= chain.firstHeight) chain.submitEvidence(e.a, e.b);
        else if (e.committee && chain) chain.restoreEvidence(e.a, e.b, e.committee);
      });
    }
    if (config.retain !== undefined && held.chain?.prune(config.retain)) compact();
    /** The first certificate of a chain made here (genesis issued, or the upstream's first): kept as the base before anything else. */
    const begin = (first: Certificate) => {
      held.chain = new CertChain(first, committee);
      if (files) compact();
    };
    const evidenceLine = (a: Certificate, b: Certificate) => `${JSON.stringify({ a, b, committee: held.chain?.committeeAt(a.height) })}\n`;
    /** Append, persist, prune; a fork's evidence is written before the ForkError goes on. */
    const append = (c: Certificate): boolean => {
      const chain = held.need();
      let added: boolean;
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
        throw e;
      }
      if (added && files) {
        appendFileSync(files.chain, `${JSON.stringify(c)}\n`);
        onFile++;
      }
      if (added) prune();
      return added;
    };
    const refuse = (e: unknown): never => {
      if (e instanceof ForkError) throw new HttpError(409, "fork", e.message);
      if (e instanceof CertError) throw new HttpError(400, "certificate refused", e.message);
      throw e;
    };

    const status = { lastError: null as string | null, rounds: 0 };
    const round = await backgroundRound(config, committee, held, { begin, append });
    const registers = [metrics];
    new Gauge({
      name: "meridian_certchain_height",
      help: "Height of the latest certificate this service holds (verified: threshold signature, parent, height)",
      registers,
      collect() {
        this.set(held.chain?.latest.height ?? -1);
      },
    });
    new Gauge({
      name: "meridian_certchain_equivocations",
      help: "Equivocation evidence held: two certificates at one height signed by one member or by the group",
      registers,
      collect() {
        this.set(held.chain?.evidence.length ?? 0);
      },
    });
    const runRound = async () => {
      if (!round) return;
      try {
        await round.run();
        status.lastError = null;
      } catch (e) {
        status.lastError = (e as Error).message;
        log.warn({ err: status.lastError }, `${round.mode} round failed`);
      }
      status.rounds++;
    };
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<void> = Promise.resolve();

    return {
      get chain() {
        return held.need();
      },
      /** Run one issue/follow round now (tests); resolves when it is done. */
      round: () => (running = running.then(runRound)),
      routes(app) {
        app.get("/v1/status", { config: { auth: "public" } }, async () => {
          const chain = held.chain;
          const head = chain?.latest;
          const inForce = head && chain && (head.next ?? chain.committeeAt(head.height));
          return {
            mode: round?.mode ?? "serve",
            first: chain?.firstHeight ?? null,
            height: head?.height ?? null,
            hash: head ? certHash(head) : null,
            root: head?.root ?? null,
            committee: inForce ? describeCommittee(inForce) : null,
            checkpoint: head?.checkpoint ? (({ origin, size }) => ({ origin, size }))(parseCheckpoint(head.checkpoint)) : null,
            evidence: chain?.evidence.length ?? 0,
            lastError: status.lastError,
            rounds: status.rounds,
          };
        });
        app.get("/v1/certs/latest", { config: { auth: "public" } }, async () => view(held.need().latest));
        app.get("/v1/certs", { config: { auth: "public" } }, async (req) => {
          const chain = held.need();
          const q = parseInput(rangeQuery, req.query, "query");
          const from = q.from ?? chain.firstHeight;
          if (from < chain.firstHeight) throw new HttpError(410, "pruned", `the chain here starts at height ${chain.firstHeight}`);
          return { first: chain.firstHeight, latest: chain.latest.height, certificates: chain.range(from, q.limit ?? 100) };
        });
        app.get("/v1/certs/:height", { config: { auth: "public" } }, async (req) => {
          const chain = held.need();
          const { height } = parseInput(heightParam, req.params, "path");
          const c = chain.at(height);
          if (c === undefined) throw new HttpError(404, "no such certificate", `held: heights ${chain.firstHeight}..${chain.latest.height}`);
          return view(c);
        });
        app.post("/v1/certs", { config: { auth: "public" }, bodyLimit: 1 << 20 }, async (req, reply) => {
          const c = parseInput(CertificateJson, req.body, "body");
          held.need();
          let added = false;
          try {
            added = append(c);
          } catch (e) {
            refuse(e);
          }
          return reply.code(added ? 201 : 200).send({ height: c.height, hash: certHash(c) });
        });
        app.post("/v1/evidence", { config: { auth: "public" }, bodyLimit: 2 << 20 }, async (req) => {
          const chain = held.need();
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
        app.get("/v1/evidence", { config: { auth: "public" } }, async () => ({ evidence: held.chain?.evidence ?? [] }));
      },
      started: () => {
        if (!round) return;
        void (running = running.then(runRound));
        // A round slower than the interval is not queued behind: the next tick after it ends starts the next.
        let busy = false;
        timer = setInterval(() => {
          if (busy) return;
          busy = true;
          void (running = running.then(runRound).finally(() => (busy = false)));
        }, round.intervalMs);
        timer.unref();
      },
      close: async () => {
        if (timer) clearInterval(timer);
        await running;
      },
    };
  },
});

/** A witness signs after a pairing check or two: a short round interval must not cut its answer off. */
const requestTimeout = (intervalMs: number) => Math.max(intervalMs, 10_000);

/** The issue or follow round the config asks for (none: the chain only takes what is posted). */
async function backgroundRound(
  config: z.infer<typeof certConfigSchema>,
  committee: Committee,
  held: Held,
  chain: { begin: (c: Certificate) => void; append: (c: Certificate) => boolean },
): Promise<{ mode: "issue" | "follow"; intervalMs: number; run: () => Promise<void> } | undefined> {
  if (config.issue) {
    const o = config.issue;
    if (!isGroup(committee)) throw new ConfigFileError("(cert config)", ["issue: the committee must be the witnesses' threshold group (a group.json)"]);
    const { newVerifier } = await import("../prooflog/index.js");
    const { readGroup } = await import("../tbls/index.js");
    let issuer: Issuer;
    try {
      const vkey = existsSync(o.logKey) ? readFileSync(o.logKey, "utf8").trim() : o.logKey;
      const next = o.next === undefined ? undefined : readJsonFile(o.next, "a group (issue.next)", CommitteeJson, configError);
      if (next !== undefined && !isGroup(next)) throw new CertError("issue.next must be a group.json");
      issuer = new Issuer({
        log: o.log,
        logVerifiers: [newVerifier(vkey)],
        group: { ...readGroup(config.committee), name: o.name },
        witnesses: o.witnesses,
        next,
        timeoutMs: requestTimeout(o.intervalMs),
      });
    } catch (e) {
      throw new ConfigFileError("(cert config)", [`issue: ${(e as Error).message}`]);
    }
    const target = {
      head: () => held.chain && { cert: held.chain.latest, committee: held.chain.committeeAt(held.chain.latest.height)! },
      append: (c: Certificate) => void (held.chain ? chain.append(c) : chain.begin(c)),
    };
    return { mode: "issue", intervalMs: o.intervalMs, run: async () => void (await issuer.round(target)) };
  }
  if (config.follow) {
    const { url, intervalMs } = config.follow;
    return {
      mode: "follow",
      intervalMs,
      run: async () => {
        if (!held.chain) chain.begin(await upstreamStart(url, (c) => refusalUnder(c, committee), requestTimeout(intervalMs)));
        await followRound(url, held.chain!, chain.append, requestTimeout(intervalMs));
      },
    };
  }
  return undefined;
}
