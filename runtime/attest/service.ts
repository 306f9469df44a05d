/**
 * The attestation verifier as a kit service (`meridian attest serve`), in IETF RATS roles: attesters (nodes)
 * ask for a nonce, quote with their TPM (or have their TEE report over it) and post the evidence; the verifier
 * appraises it in the node's format against what the operator endorsed for that node (`nodes.<id>.ak`, or
 * `.root` for a TEE vendor's root certificate) and the node's reference values, signs the result, and
 * appends it to the proof log when `log` is set. Relying parties (SVID issuance) read the latest signed result
 * per node and decide with `admit`.
 *
 *   POST /v1/attest/nonce            → {nonce, expiresAt}
 *   POST /v1/attest/verify {node, nonce?, format?, …the evidence's parts, base64}  (no nonce: timestamp mode)
 *        TPM (the default):  message, signature, pcrs (the tpm2_quote -m/-s/-o files)
 *        SEV-SNP:            report (the 1184-byte ATTESTATION_REPORT), vcek (DER or PEM), chain (the KDS cert_chain PEM)
 *                                    → 200 {result, note, log?} accepted; 403 {error, detail, result, note, log?} refused
 *   GET  /v1/attest/results/:node    → the latest signed result (text/plain note), 404 if none
 *   GET  /v1/attest/key              → {verifierKey}: what relying parties verify results with
 *   GET  /v1/attest/spire/:node      → SPIRE AgentAttributes for an attested node (spire.ts), 403 not admitted
 *   POST /v1/attest/enrol {node, ekCert, akPublic}  → {credential} for tpm2_activatecredential (enrolment.ts), 403 refused
 *   POST /v1/attest/enrol/activate {node, secret}   → {node, ak}: the node's AK is endorsed; 403 wrong secret
 *   POST /v1/attest/revoke {node, reason}  (operator) → {node, ak, revokedAt, by}: the node's AK is never endorsed again
 * Every route but revoke is public unless `callers` names who may call (in the estate: the SPIRE server's SPIFFE ID).
 *
 * Enrolled AKs, revocations, registered TPM clocks and the latest result per node are the registry
 * (registry.ts), kept in the configured `store` (a file or PostgreSQL; memory when absent) and, with `log`,
 * recorded in the proof log, which a restarted verifier catches its store up from. Nonces live in memory on
 * purpose: a restart forgets them, so quotes for nonces issued before it are refused as unknown, and no restored
 * store can make a used nonce fresh again.
 */
import { existsSync, readFileSync } from "node:fs";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { ConfigFileError, defineService, HttpError, parseInput, type RouteAuth } from "../kit/index.js";
import { LogClient, verifierKeyOf } from "../prooflog/index.js";
import { NonceBook } from "./core/nonce.js";
import { EVIDENCE_FORMATS, evidenceFormat } from "./core/formats.js";
import { referenceSchema } from "./core/quote.js";
import { snpReferenceSchema } from "./core/sev-snp-appraisal.js";
import { nitroReferenceSchema } from "./core/nitro-appraisal.js";
import { QuoteFormatError } from "./core/tpm.js";
import { verifyAttestation, verifyTimestamped } from "./verifier.js";
import { spireAgentAttributes } from "./spire.js";
import { Enrolments } from "./enrolment.js";
import { EndorsementError } from "./core/endorsement.js";
import type { Clock } from "../common/clock.js";
import { Registry, RegistryError } from "./registry.js";
import { MemoryRegistryStore, type RegistryStore } from "./store/registry-port.js";
import { FileRegistryStore } from "./store/registry-file.js";
import { PostgresRegistryStore } from "./store/registry-postgres.js";

const attestConfigSchema = z
  .object({
    /** The verifier's note signer key (`meridian note keygen`), a file path or the key text. */
    key: z.string().min(1),
    nonceTtlSeconds: z.number().positive().max(86_400).default(300),
    /** The proof log's base URL (`meridian log serve`): every result is appended there. */
    log: z
      .string()
      .regex(/^https?:\/\//, "an http(s) URL")
      .optional(),
    /** A file holding a bearer token for the log's appends, read at each append (renewed by its writer): where no mesh names this service to the log (`meridian local`). */
    logTokenFile: z.string().min(1).optional(),
    /**
     * Timestamp mode: a TPM node that registered its clock with a nonce-fresh quote may then post quotes without
     * a nonce, fresh by their TPMS_CLOCK_INFO when dated within this age (core/timestamp.ts). Off when absent.
     */
    timestampMaxAgeSeconds: z.number().positive().max(86_400).optional(),
    /**
     * SPIRE admission (spire.ts): the trust domain whose NodeAttestor plugin asks
     * `GET /v1/attest/spire/:node` for an attested node's AgentAttributes; results older than the max age refused.
     */
    spire: z
      .object({ trustDomain: z.string().regex(/^[a-z0-9._-]{1,255}$/, "a SPIFFE trust domain name"), maxResultAgeSeconds: z.number().positive().max(86_400).default(600) })
      .strict()
      .optional(),
    /**
     * Endorsement at enrolment (enrolment.ts): the TPM manufacturers' CA certificates (PEM) an EK certificate must
     * chain to, and intermediates; needed by nodes with `enrol: true`.
     */
    endorsement: z
      .object({ roots: z.string().min(1), intermediates: z.string().optional(), challengeTtlSeconds: z.number().positive().max(3600).default(300) })
      .strict()
      .optional(),
    /**
     * Where the registry (enrolled AKs, revocations, TPM clock registrations, latest results) survives restarts:
     * `{dir}` (one fsynced file) or `{postgres}` (a connection URL). Memory when absent: a restart forgets them.
     */
    store: z
      .union([
        z.object({ dir: z.string().min(1) }).strict(),
        z
          .object({
            postgres: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL"),
            /** The schema the registry's tables live in (one per verifier sharing a database; its lock is the schema's). */
            schema: z
              .string()
              .regex(/^[a-z_][a-z0-9_]{0,62}$/, "a lower-case SQL identifier")
              .optional(),
          })
          .strict(),
      ])
      .optional(),
    /**
     * Who may call every route but revoke: these SPIFFE IDs, verified by mTLS (`server.tls`) or by the pod's sidecar
     * (`server.identity`) — in the estate, the region's SPIRE server. Absent: those routes are public (a verifier
     * on loopback, or one only a caller-authenticating proxy reaches); a node's evidence authenticates itself,
     * but nonces are a bounded resource and admission answers say which nodes are admitted.
     */
    callers: z
      .array(z.string().regex(/^spiffe:\/\/[a-z0-9._-]{1,255}\/\S+$/, "a SPIFFE ID, spiffe://<trust domain>/<path>"))
      .min(1)
      .optional(),
    /** How long to wait for a checkpoint that includes the result before answering with its index only. */
    logInclusionWaitMs: z.number().int().min(0).max(60_000).default(5_000),
    /**
     * How long the start waits for a checkpoint covering its resume event (ms) before it refuses to serve: a log whose
     * witnesses are slow to cosign (a loaded machine) publishes late, not never.
     */
    logCheckpointWaitMs: z.number().int().min(1000).max(600_000).default(10_000),
    /**
     * Endorsed attesters: node ID → its evidence format and what the operator endorses for it — a TPM node's AK
     * (PEM, `tpm2_readpublic -f pem`), an SEV-SNP node's AMD root (ARK PEM, e.g. the KDS ask_ark_<product>.pem), a Nitro
     * enclave's AWS Nitro Enclaves root (root.pem from AWS_NitroEnclaves_Root-G1.zip) —
     * and its reference values.
     */
    nodes: z.record(
      z.string().regex(/^[A-Za-z0-9._:/-]{1,200}$/),
      z.union([
        z.object({ format: z.literal("tpm").default("tpm"), ak: z.string().min(1), reference: referenceSchema }).strict(),
        z.object({ format: z.literal("sev-snp"), root: z.string().min(1), reference: snpReferenceSchema }).strict(),
        z.object({ format: z.literal("nitro"), root: z.string().min(1), reference: nitroReferenceSchema }).strict(),
        // A TPM node whose AK is endorsed by enrolment (EK certificate + credential activation), not by hand.
        z.object({ format: z.literal("tpm").default("tpm"), enrol: z.literal(true), reference: referenceSchema }).strict(),
      ]),
    ),
  })
  .strict();

/** A key file's first non-empty line (`meridian note keygen > FILE` writes the signer key first), or the key text. */
function keyText(value: string): string {
  const text = existsSync(value) ? readFileSync(value, "utf8") : value;
  return (text.split("\n").find((l) => l.trim() !== "") ?? "").trim();
}

const b64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, "base64")
  .max(16_384);
const PARTS = [...new Set(Object.values(EVIDENCE_FORMATS).flatMap((f) => f.parts))];
const verifyBody = z
  .object({
    node: z.string().min(1).max(200),
    /** Absent: timestamp mode (TPM nodes, when the config turns it on). */
    nonce: z.string().max(130).optional(),
    format: z.enum(Object.keys(EVIDENCE_FORMATS) as [string, ...string[]]).optional(),
    ...Object.fromEntries(PARTS.map((p) => [p, b64.optional()])),
  })
  .strict();

export interface LogInclusion {
  index: number;
  /** The log's signed checkpoint that includes the entry, and the RFC 6962 inclusion proof (base64 hashes). */
  checkpoint?: string;
  inclusionProof?: string[];
}

async function logResult(client: LogClient, note: string, waitMs: number, clock: Clock): Promise<LogInclusion> {
  const { index } = await client.add(Buffer.from(note));
  const deadline = clock.now() + waitMs;
  for (;;) {
    const checkpoint = await client.checkpoint();
    const size = Number(checkpoint.split("\n")[1]);
    if (size > index) return { index, checkpoint, inclusionProof: (await client.inclusionProof(index, size)).map((h) => h.toString("base64")) };
    if (clock.now() >= deadline) return { index };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Who revoked: the operator's verified identity (the kit verified the credential before the route ran). */
function operatorName(req: FastifyRequest): string {
  const id = req.identity;
  if (!id) throw new HttpError(401, "no credential", "revocation needs an operator credential");
  return id.kind === "spiffe" ? id.id.uri : `jwt:${id.subject ?? "(no subject)"}`;
}

function openStore(s: z.output<typeof attestConfigSchema>["store"]): RegistryStore {
  if (!s) return new MemoryRegistryStore();
  return "dir" in s ? new FileRegistryStore(s.dir) : new PostgresRegistryStore(s.postgres, s.schema);
}

export const attestService = defineService({
  name: "attest",
  config: attestConfigSchema,
  stores: (config) => ({ registry: config.store && "postgres" in config.store ? { kind: "postgres", url: config.store.postgres } : undefined }),
  async start({ config, clock, log }) {
    let signerKey: string, verifierKey: string;
    try {
      signerKey = keyText(config.key);
      verifierKey = verifierKeyOf(signerKey);
    } catch (e) {
      throw new ConfigFileError("(attest config)", [`key: ${(e as Error).message}`]);
    }
    type Node = (typeof config.nodes)[string];
    const enrolments = config.endorsement ? new Enrolments(config.endorsement, clock, config.endorsement.challengeTtlSeconds * 1000) : undefined;
    // Own keys only: a body naming "constructor" or "__proto__" would otherwise find Object's, which is no node.
    const nodeNamed = (id: string): Node | undefined => (Object.hasOwn(config.nodes, id) ? config.nodes[id] : undefined);
    const endorsementOf = (id: string, n: Node): string | undefined => ("root" in n ? n.root : "ak" in n ? n.ak : registry.enrolledAk(id));
    for (const [id, n] of Object.entries(config.nodes)) {
      if ("enrol" in n) {
        if (!enrolments) throw new ConfigFileError("(attest config)", [`nodes.${id}.enrol: needs endorsement.roots (the TPM manufacturers' CA certificates)`]);
        continue;
      }
      try {
        evidenceFormat(n.format).endorsement("root" in n ? n.root : n.ak);
      } catch (e) {
        throw new ConfigFileError("(attest config)", [`nodes.${id}.${"root" in n ? "root" : "ak"}: ${(e as Error).message}`]);
      }
    }
    const nonces = new NonceBook(clock);
    const client = config.log ? new LogClient(config.log, { tokenFile: config.logTokenFile }) : undefined;
    const store = openStore(config.store);
    let registry: Registry;
    try {
      registry = await Registry.open({ store, ...(client ? { log: client } : {}), signerKey, verifierKey, clock, checkpointWaitMs: config.logCheckpointWaitMs });
    } catch (e) {
      await store.close();
      throw e;
    }
    log.info({ store: store.description, enrolled: registry.state.enrolled.size, revoked: registry.state.revoked.size, logSize: registry.state.logSize }, "attestation registry loaded");
    /** Registered TPM clocks by AK (timestamp mode): the registry's, persisted after each result. */
    const clocks = registry.state.clocks;
    const latest = registry.state.results;
    const callers: RouteAuth = config.callers ? { spiffe: config.callers } : "public";
    return {
      nonces,
      verifierKey,
      registry,
      close: () => registry.close(),
      routes(app) {
        app.post("/v1/attest/nonce", { config: { auth: callers } }, async () => {
          try {
            const { nonce, expiresAt } = nonces.issue(config.nonceTtlSeconds * 1000);
            return { nonce, expiresAt: new Date(expiresAt).toISOString() };
          } catch (e) {
            throw new HttpError(503, "too many outstanding nonces", (e as Error).message);
          }
        });
        app.get("/v1/attest/key", { config: { auth: callers } }, async () => ({ verifierKey }));
        app.get("/v1/attest/results/:node", { config: { auth: callers } }, async (req, reply) => {
          const { node } = parseInput(z.object({ node: z.string().max(200) }), req.params, "path");
          const note = latest.get(node);
          if (!note) throw new HttpError(404, "no attestation result", `node ${node} has not been attested`);
          return reply.header("content-type", "text/plain; charset=utf-8").send(note);
        });
        app.get("/v1/attest/spire/:node", { config: { auth: callers } }, async (req) => {
          const { node } = parseInput(z.object({ node: z.string().max(200) }), req.params, "path");
          if (!config.spire) throw new HttpError(404, "SPIRE admission off", "this verifier's config has no spire.trustDomain");
          const attrs = spireAgentAttributes(latest.get(node), { verifierKey, now: clock.now(), maxAgeMs: config.spire.maxResultAgeSeconds * 1000, node, trustDomain: config.spire.trustDomain });
          if ("refused" in attrs) throw new HttpError(403, "node not admitted", attrs.refused);
          return attrs;
        });
        app.post("/v1/attest/enrol", { config: { auth: callers } }, async (req) => {
          const body = parseInput(z.object({ node: z.string().min(1).max(200), ekCert: b64, akPublic: b64 }).strict(), req.body, "body");
          const node = nodeNamed(body.node);
          if (!node || !("enrol" in node) || !enrolments) throw new HttpError(404, "not an enrolling node", `node ${body.node} is not configured with enrol: true`);
          try {
            return { credential: enrolments.challenge(body.node, Buffer.from(body.ekCert, "base64"), Buffer.from(body.akPublic, "base64")).toString("base64") };
          } catch (e) {
            if (e instanceof EndorsementError || e instanceof QuoteFormatError) throw new HttpError(403, "endorsement refused", e.message);
            throw e;
          }
        });
        app.post("/v1/attest/enrol/activate", { config: { auth: callers } }, async (req) => {
          const body = parseInput(z.object({ node: z.string().min(1).max(200), secret: b64 }).strict(), req.body, "body");
          if (!enrolments) throw new HttpError(404, "not an enrolling node", `node ${body.node} is not configured with enrol: true`);
          try {
            const ak = enrolments.activate(body.node, Buffer.from(body.secret, "base64"));
            await registry.enrol(body.node, ak);
            log.info({ node: body.node }, "AK enrolled by credential activation");
            return { node: body.node, ak };
          } catch (e) {
            if (e instanceof EndorsementError || e instanceof RegistryError) throw new HttpError(403, "enrolment refused", (e as Error).message);
            throw e;
          }
        });
        app.post("/v1/attest/revoke", { config: { auth: "operator" } }, async (req) => {
          const by = operatorName(req);
          const body = parseInput(z.object({ node: z.string().min(1).max(200), reason: z.string().min(1).max(500) }).strict(), req.body, "body");
          const node = nodeNamed(body.node);
          if (!node) throw new HttpError(404, "unknown node", `node ${body.node} is not in this verifier's config`);
          if (node.format !== "tpm") throw new HttpError(400, "not a TPM node", `node ${body.node} attests with ${node.format} evidence; remove it from the config instead`);
          const ak = endorsementOf(body.node, node);
          if (ak === undefined) throw new HttpError(404, "no AK to revoke", `node ${body.node} has no enrolled AK`);
          const r = await registry.revoke(body.node, ak, by, body.reason);
          log.warn({ node: body.node, ak: r.fingerprint, by, reason: body.reason }, "AK revoked");
          return { node: body.node, ak: r.fingerprint, revokedAt: new Date(r.at).toISOString(), by };
        });
        app.post("/v1/attest/verify", { config: { auth: callers } }, async (req, reply) => {
          const body = parseInput(verifyBody, req.body, "body") as { node: string; nonce?: string; format?: string } & Partial<Record<string, string>>;
          const node = nodeNamed(body.node);
          if (!node) throw new HttpError(404, "unknown node", `node ${body.node} has no endorsed AK in this verifier's config`);
          if (body.format !== undefined && body.format !== node.format) throw new HttpError(400, "wrong evidence format", `node ${body.node} attests with ${node.format} evidence, not ${body.format}`);
          const parts = evidenceFormat(node.format).parts;
          const missing = parts.filter((p) => body[p] === undefined);
          if (missing.length) throw new HttpError(400, "incomplete evidence", `${node.format} evidence needs ${parts.join(", ")} (base64); missing ${missing.join(", ")}`);
          const endorsement = endorsementOf(body.node, node);
          if (endorsement === undefined) throw new HttpError(409, "node not enrolled", `node ${body.node} has no endorsed AK yet: enrol it (POST /v1/attest/enrol, then /v1/attest/enrol/activate)`);
          const revoked = node.format === "tpm" ? registry.revocation(endorsement) : undefined;
          if (revoked) throw new HttpError(403, "AK revoked", `node ${body.node}'s AK was revoked by ${revoked.by} at ${new Date(revoked.at).toISOString()}: ${revoked.reason}`);
          const evidence = Object.fromEntries(parts.map((p) => [p, Buffer.from(body[p]!, "base64")]));
          if (body.nonce === undefined && (node.format !== "tpm" || config.timestampMaxAgeSeconds === undefined)) {
            throw new HttpError(400, "no nonce", `${node.format} evidence needs a verifier nonce (POST /v1/attest/nonce)${node.format === "tpm" ? "; timestamp mode is off" : ""}`);
          }
          let verified;
          try {
            verified =
              body.nonce === undefined
                ? verifyTimestamped(
                    { evidence: { message: evidence.message!, signature: evidence.signature!, pcrs: evidence.pcrs! }, ak: endorsement, reference: node.reference, node: body.node },
                    { clocks, maxAgeMs: config.timestampMaxAgeSeconds! * 1000, signerKey, clock },
                  )
                : await verifyAttestation({ format: node.format, evidence, endorsement, nonce: body.nonce, reference: node.reference, node: body.node }, { nonces, signerKey, clock, clocks });
          } catch (e) {
            if (e instanceof QuoteFormatError) throw new HttpError(400, "malformed evidence", e.message);
            throw e;
          }
          let inclusion: LogInclusion | undefined;
          if (client) {
            try {
              inclusion = await logResult(client, verified.note, config.logInclusionWaitMs, clock);
            } catch (e) {
              // The result is signed but not logged: say so rather than hand out an unlogged acceptance.
              log.error({ err: e }, "cannot append the attestation result to the proof log");
              throw new HttpError(503, "proof log unavailable", "the attestation result could not be logged; retry with a new nonce");
            }
          }
          await registry.recordResult(body.node, verified.note, verified.result.ak);
          const payload = { result: verified.result, note: verified.note, ...(inclusion ? { log: inclusion } : {}) };
          if (verified.result.accepted) return payload;
          return reply.code(403).send({ error: "attestation refused", detail: verified.result.reason, ...payload });
        });
      },
    };
  },
});
