/** Threshold-group certificate fixtures: a 2-of-3 group that hands over to a 3-of-4 one. */
import { createHash } from "node:crypto";
import { certBody, certHash, GENESIS_PARENT, groupCommittee, issueThreshold, unsignedCertificate, type Certificate, type GroupCommittee } from "../../../runtime/certchain/index.js";
import { deal, partialSign, type Dealing } from "../../../runtime/tbls/index.js";

export const root = (s: string) => createHash("sha256").update(s).digest("hex");
export const OLD = deal(2, 3);
export const NEW = deal(3, 4);
export const committeeOf = (d: Dealing): GroupCommittee => groupCommittee({ t: d.t, n: d.n, groupPublicKey: d.commitments[0]! });

/** Certificate `body` signed by the shares `by` (1-based indices) of dealing `d`. */
export function signed(body: Parameters<typeof unsignedCertificate>[0], d: Dealing, by: number[]): Certificate {
  const unsigned = unsignedCertificate(body, committeeOf(d));
  return issueThreshold(
    unsigned,
    committeeOf(d),
    d.commitments,
    by.map((i) => partialSign(certBody(unsigned), d.shares[i - 1]!)),
  );
}

export function chain(): Certificate[] {
  const c0 = signed({ height: 0, parent: GENESIS_PARENT, root: root("r0") }, OLD, [1, 2]);
  const c1 = signed({ height: 1, parent: certHash(c0), root: root("r1"), next: committeeOf(NEW) }, OLD, [2, 3]); // rotation
  const c2 = signed({ height: 2, parent: certHash(c1), root: root("r2") }, NEW, [1, 3, 4]);
  return [c0, c1, c2];
}
