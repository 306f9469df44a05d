/**
 * The witness as a kit service (`meridian log witness`): C2SP tlog-witness `POST /add-checkpoint`,
 * `POST /sign-subtree` (ML-DSA-44 keys) and the monitoring read, cosigning (Ed25519 cosignature/v1 or
 * ML-DSA-44) the logs whose verifier keys it is given. Its state — the latest cosigned checkpoint per log —
 * lives in `data` (one fsynced file per log) so a restart cannot be talked into a rollback; `":memory:"` keeps
 * it in memory for tests and `meridian local` only. Equivocation evidence (two log-signed roots for one size)
 * is logged, counted and kept (the last 100) for operators.
 *
 * Keys are file paths (a mounted Secret) or, for in-process callers, the key text itself. With `threshold` (a group
 * name, the DKG's group.json and this witness's share file) it also answers with a partial signature (threshold.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import type { Group, Share } from "../../tbls/index.js";
import type { ThresholdGroup } from "./threshold.js";
import { Counter } from "prom-client";
import { z } from "zod";
import { ConfigFileError, defineService } from "../../kit/index.js";
import { ALG_ED25519, NoteError, newVerifier, parseSignerKey, parseVerifierKey, verifierKeyString, type Verifier } from "../note.js";
import { newCosignatureVerifier, newCosigner } from "./cosignature.js";
import { witnessRoutes } from "./http.js";
import { FileWitnessStore } from "./store.js";
import { MemoryWitnessStore, Witness, type Misbehaviour } from "./witness.js";

const witnessConfigSchema = z
  .object({
    /** The witness's cosignature signer key (`meridian note keygen --type cosignature`). */
    key: z.string().min(1),
    /** Verifier keys of the logs to witness; each key's name is the log's origin. */
    logs: z.array(z.string().min(1)).min(1),
    /** Directory of the witness's durable state, or ":memory:". */
    data: z.string().min(1),
    /**
     * Threshold mode: the group's key name, its group.json and this witness's share-<i>.json (`meridian tbls dkg`).
     * The witness then also signs checkpoint certificates with its share (`POST /certify`, runtime/certchain/signer.ts);
     * `next` is the group.json of the group a certificate may hand over to (the operator's next ceremony).
     */
    threshold: z
      .object({ name: z.string().regex(/^[^\s+]+$/, "a note key name: no spaces or '+'"), group: z.string().min(1), share: z.string().min(1), next: z.string().min(1).optional() })
      .strict()
      .optional(),
  })
  .strict();

/** The witness's threshold group and share, the share checked against the group's commitments (BLS loads only here). */
async function thresholdOf(t: { name: string; group: string; share: string; next?: string }) {
  const { readGroup, readShare, ThresholdError } = await import("../../tbls/index.js");
  const { checkShare, partialLine } = await import("./threshold.js");
  try {
    const group = { ...readGroup(t.group), name: t.name };
    const share = readShare(t.share);
    checkShare(group, share);
    const next = t.next === undefined ? undefined : readGroup(t.next);
    return { group: group.name, share: share.index, sign: (text: string) => partialLine(group, share, text), certify: { group, share, next } };
  } catch (e) {
    if (e instanceof ThresholdError) throw new ConfigFileError("(witness config)", [`threshold: ${e.message}`]);
    throw e;
  }
}

function keyText(value: string, what: string): string {
  if (!existsSync(value)) return value.trim();
  const line = readFileSync(value, "utf8")
    .split("\n")
    .find((l) => l.trim() !== "");
  if (!line) throw new ConfigFileError(value, [`${what}: the file holds no key`]);
  return line.trim();
}

function verifierOf(vkey: string): Verifier {
  return parseVerifierKey(vkey).alg === ALG_ED25519 ? newVerifier(vkey) : newCosignatureVerifier(vkey);
}

const RECENT_MISBEHAVIOUR = 100;

/**
 * `POST /certify` (JSON): sign a checkpoint certificate's body with this witness's share (runtime/certchain/signer.ts):
 * 200 {index, signature}, 409 {error, signed} with the body it signed at that height, 422 naming the refusal.
 */
async function certifyRoute(t: { group: ThresholdGroup; share: Share; next?: Group }, logs: Map<string, Verifier[]>, data: string) {
  const { CertSigner, CertifyRefusal, CertifyRequestJson, FileSignedStore, groupCommittee, MemorySignedStore } = await import("../../certchain/index.js");
  const signer = new CertSigner({ ...t, next: t.next && groupCommittee(t.next), logs, store: data === ":memory:" ? new MemorySignedStore() : new FileSignedStore(data) });
  return (app: FastifyInstance) =>
    app.post("/certify", { bodyLimit: 1 << 20, config: { auth: "public" } }, async (req, reply) => {
      let parsed;
      try {
        parsed = CertifyRequestJson.safeParse(JSON.parse(String(req.body ?? "")));
      } catch {
        parsed = undefined;
      }
      if (!parsed?.success) return reply.status(400).send({ error: `not a certify request: ${parsed?.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") ?? "not JSON"}` });
      try {
        return await signer.certify(parsed.data);
      } catch (e) {
        if (!(e instanceof CertifyRefusal)) throw e;
        return reply.status(e.status).send({ error: e.message, ...e.signed });
      }
    });
}

export const witnessService = defineService({
  name: "witness",
  config: witnessConfigSchema,
  async start({ config, clock, log, metrics }) {
    const logs = new Map<string, Verifier[]>();
    let cosigner;
    let own: Verifier;
    try {
      const skey = keyText(config.key, "key");
      cosigner = newCosigner(skey, clock);
      const k = parseSignerKey(skey);
      own = newCosignatureVerifier(verifierKeyString(k.name, k.alg, k.publicKey));
      for (const [i, k] of config.logs.entries()) {
        const v = verifierOf(keyText(k, `logs.${i}`));
        logs.set(v.name, [...(logs.get(v.name) ?? []), v]);
      }
    } catch (e) {
      if (e instanceof NoteError) throw new ConfigFileError("(witness config)", [e.message]);
      throw e;
    }
    const counter = new Counter({ name: "meridian_witness_misbehaviour_total", help: "Equivocations seen: two checkpoints a log signed for one size with different roots", registers: [metrics] });
    const misbehaviours: Misbehaviour[] = [];
    const threshold = config.threshold && (await thresholdOf(config.threshold));
    const witness = new Witness({
      partialSigner: threshold ? threshold.sign : undefined,
      cosigner,
      logs,
      store: config.data === ":memory:" ? new MemoryWitnessStore() : new FileWitnessStore(config.data),
      verifiers: [own],
      onMisbehaviour: (m) => {
        counter.inc();
        misbehaviours.push(m);
        if (misbehaviours.length > RECENT_MISBEHAVIOUR) misbehaviours.shift();
        log.error({ misbehaviour: m }, `EQUIVOCATION by ${m.origin} at size ${m.size}`);
      },
    });
    const name = cosigner.name;
    const certify = threshold && (await certifyRoute(threshold.certify, logs, config.data));
    return {
      witness,
      misbehaviours,
      routes: (app) => {
        witnessRoutes(app, witness);
        certify?.(app);
      },
      started: () => log.info({ witness: name, logs: [...logs.keys()], ...(threshold && { thresholdGroup: threshold.group, share: threshold.share }) }, "witnessing"),
    };
  },
});
