/** What the threshold-witnessing tests share: an in-process DKG and prod with the log's settings changed in its config map. */
import { buildEstateSpec } from "../../../model/estate.js";
import { contribute, finish } from "../../../runtime/tbls/index.js";
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
