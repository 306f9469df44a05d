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
    /** Threshold mode: the group's key name, its group.json and this witness's share-<i>.json (`meridian tbls dkg`). */
    threshold: z
      .object({ name: z.string().regex(/^[^\s+]+$/, "a note key name: no spaces or '+'"), group: z.string().min(1), share: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

/** The witness's threshold group and share, the share checked against the group's commitments (BLS loads only here). */
async function thresholdOf(t: { name: string; group: string; share: string }) {
  const { readGroup, readShare, ThresholdError } = await import("../../tbls/index.js");
  const { checkShare, partialLine } = await import("./threshold.js");
  try {
    const group = { ...readGroup(t.group), name: t.name };
    const share = readShare(t.share);
    checkShare(group, share);
    return { group: group.name, share: share.index, sign: (text: string) => partialLine(group, share, text) };
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
    return {
      witness,
      misbehaviours,
      routes: (app) => witnessRoutes(app, witness),
      started: () => log.info({ witness: name, logs: [...logs.keys()], ...(threshold && { thresholdGroup: threshold.group, share: threshold.share }) }, "witnessing"),
    };
  },
});
