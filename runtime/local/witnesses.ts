/**
 * The witnesses of `meridian local`, in threshold mode as the estate deploys them (model/workloads: catalogue entry
 * `witness`, meridian:runtime.prooflog.witnessThreshold): three witnesses first make a 2-of-3 BLS group key by the
 * Pedersen DKG over HTTP between their own participants (runtime/tbls dkgService + runDkg, each with its own Ed25519
 * identity; nobody ever holds the group secret), then serve the log's add-checkpoint with a cosignature and a partial
 * signature from their share. The log combines any two partials into one signature under the group key and publishes
 * only checkpoints that carry it; the monitor checks it. The estate instead pins the group of an operator's ceremony in
 * the stack (one machine has no ceremony to pin, so each run makes a fresh group).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { systemClock } from "../common/clock.js";
import { startService } from "../kit/index.js";
import { ALG_COSIGNATURE_V1, generateKey, newSigner, newVerifier } from "../prooflog/index.js";
import { witnessService } from "../prooflog/services.js";
import { awaitPeers, dkgService, groupJson, runDkg, shareJson, type DkgParticipant, type DkgPeer } from "../tbls/index.js";

export interface LocalWitnesses {
  witnesses: { name: string; url: string; verifierKey: string }[];
  /** The group as the stack would pin it (name and group.json's content), and group.json's path in `dir`. */
  threshold: { name: string; group: ReturnType<typeof groupJson>; groupFile: string };
  close: () => Promise<void>;
}

const T = 2;
const NAMES = ["witness-a", "witness-b", "witness-c"];
/** A local DKG round waits this long for a peer on loopback before counting it absent. */
const PHASE_MS = 20_000;

/** Run the DKG among the witnesses' participants, then start the witnesses with their shares (files in `dir`). */
export async function startThresholdWitnesses(o: { origin: string; logVerifierKey: string; dir: string; name?: string }): Promise<LocalWitnesses> {
  const n = NAMES.length;
  const closers: (() => Promise<void>)[] = [];
  try {
    const ids = NAMES.map((w) => generateKey(`${w}.dkg.${o.origin}`));
    const dkg = await Promise.all(NAMES.map((_, k) => startService(dkgService, { index: k + 1, t: T, n, server: { host: "127.0.0.1", port: 0 } }, { clock: systemClock, processMetrics: false })));
    closers.push(...dkg.map((s) => () => s.close()));
    const peers = dkg.map((s, k): DkgPeer => ({ url: s.url, vkey: ids[k]!.verifierKey }));
    const ps = dkg.map((s) => (s.parts as { participant: DkgParticipant }).participant);
    const opts = (k: number) => ({ peers, key: ids[k]!.signerKey, keys: { signer: newSigner, verifier: newVerifier }, phaseMs: PHASE_MS });
    const results = await Promise.all(ps.map((p, k) => runDkg(p, opts(k))));
    await Promise.all(ps.map((p, k) => awaitPeers(p, opts(k))));
    for (const close of closers.splice(0)) await close();
    const keys = new Set(results.map((r) => Buffer.from(r.groupPublicKey).toString("hex")));
    if (keys.size !== 1) throw new Error(`the local witnesses' DKG ended with ${keys.size} different group keys`);

    const group = groupJson({ t: T, n, commitments: results[0]!.commitments, shares: [] });
    const groupFile = join(o.dir, "witness-group.json");
    writeFileSync(groupFile, JSON.stringify(group, null, 2));
    const name = o.name ?? `${o.origin}/witnesses`;
    const witnesses = await Promise.all(
      NAMES.map(async (w, k) => {
        const share = join(o.dir, `${w}-share.json`);
        writeFileSync(share, JSON.stringify(shareJson(results[k]!.share)), { mode: 0o600 });
        const key = generateKey(`${w}.${o.origin}`, ALG_COSIGNATURE_V1);
        const running = await startService(
          witnessService,
          { key: key.signerKey, logs: [o.logVerifierKey], data: ":memory:", threshold: { name, group: groupFile, share }, server: { host: "127.0.0.1", port: 0 } },
          { clock: systemClock, processMetrics: false },
        );
        closers.push(() => running.close());
        return { name: w, url: running.url, verifierKey: key.verifierKey };
      }),
    );
    return { witnesses, threshold: { name, group, groupFile }, close: async () => void (await Promise.all(closers.map((c) => c().catch(() => undefined)))) };
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }
}
