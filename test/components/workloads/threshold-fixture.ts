/** What the threshold-witnessing tests share: an in-process DKG and prod with the log's settings changed in its config map. */
import { buildEstateSpec } from "../../../model/estate.js";
import { ALG_COSIGNATURE_V1, generateKey } from "../../../runtime/prooflog/note.js";
import { contribute, finish, groupJson } from "../../../runtime/tbls/index.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

/** A dealer-free t-of-n key: every participant deals, nobody complains (runtime/tbls's DKG, in process). */
export function dkg(t: number, n: number) {
  const cs = Array.from({ length: n }, (_, k) => contribute(k + 1, t, n));
  const tr = { t, n, commitments: new Map(cs.map((c) => [c.dealer, c.commitments])), complaints: new Map(), reveals: new Map() };
  return Array.from({ length: n }, (_, k) => finish(tr, k + 1, new Map(cs.map((c) => [c.dealer, c.shares.get(k + 1)!]))));
}

/** prod with `meridian:runtime.prooflog` changed in the stack's own config map (the stack schema checks it). */
export function prodWith(prooflog: Record<string, unknown>, label = "prod (changed prooflog)") {
  const map = readStackConfigMap("prod");
  const runtime = map["meridian:runtime"] as Record<string, Record<string, unknown>>;
  map["meridian:runtime"] = { ...runtime, prooflog: { ...runtime["prooflog"], ...prooflog } };
  return buildEstateSpec("prod", parseEstateConfig(map, label));
}

/**
 * prod whose log is witnessed by a 2-of-3 BLS group, one witness in each of three regions: the DKG's results (each
 * witness's share), the group, the log's key and the witnesses' cosignature keys beside the spec.
 */
export function thresholdWitnessedProd(groupName: string) {
  const results = dkg(2, 3);
  const group = groupJson({ t: 2, n: 3, commitments: results[0]!.commitments, shares: [] });
  const origin = (readStackConfigMap("prod")["meridian:runtime"] as { prooflog: { origin: string } }).prooflog.origin;
  const logKey = generateKey(origin);
  const regions = ["aws-euw1", "gcp-asne1", "azure-weu"];
  const keys = regions.map((_, i) => generateKey(`witness-${"abc"[i]}`, ALG_COSIGNATURE_V1));
  const spec = prodWith({
    verifierKey: logKey.verifierKey,
    witnesses: regions.map((region, i) => ({ name: `witness-${"abc"[i]}`, region, vkey: keys[i]!.verifierKey })),
    witnessThreshold: { name: groupName, group },
  });
  return { results, group, logKey, regions, keys, spec };
}
