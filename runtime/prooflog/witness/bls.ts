/**
 * Compact consensus certificates with BLS12-381 aggregate signatures (@noble/curves, "short signatures": 48-byte
 * G1 signatures, 96-byte G2 public keys). Every witness of a committee signs the same message — a domain tag and
 * the checkpoint body — so k signatures add up to ONE 48-byte signature, checked with one pairing equation
 * against the sum of the signers' public keys. The certificate is that signature plus a bitmap of who signed.
 *
 * Same-message aggregation is open to rogue-key attacks unless every key proves possession of its secret, so a
 * committee only admits keys with a valid proof of possession (a signature over the key itself, separate tag).
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";

const bls = bls12_381.shortSignatures;
const DST_SIG = "MERIDIAN-PROOFLOG-BLS-COSIG-V1";
const DST_POP = "MERIDIAN-PROOFLOG-BLS-POP-V1";
const MESSAGE_PREFIX = Buffer.from("meridian-bls-cosignature/v1\n");

export class BlsError extends Error {
  override name = "BlsError";
}

export interface BlsKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  /** Proof of possession: a signature over the public key under its own domain tag. */
  pop: Uint8Array;
}

export function blsKeygen(seed?: Uint8Array): BlsKeyPair {
  const { secretKey, publicKey } = bls.keygen(seed);
  const pk = publicKey.toBytes();
  return { secretKey, publicKey: pk, pop: bls.Signature.toBytes(bls.sign(bls.hash(pk, DST_POP), secretKey)) };
}

function verifyPop(publicKey: Uint8Array, pop: Uint8Array): boolean {
  try {
    return bls.verify(pop, bls.hash(publicKey, DST_POP), publicKey);
  } catch {
    return false;
  }
}

const message = (checkpointBody: string) => bls.hash(Buffer.concat([MESSAGE_PREFIX, Buffer.from(checkpointBody)]), DST_SIG);

/** A witness's BLS signature over a checkpoint body (the note text, without signature lines). */
export function blsCosign(checkpointBody: string, secretKey: Uint8Array): Uint8Array {
  return bls.Signature.toBytes(bls.sign(message(checkpointBody), secretKey));
}

export interface BlsCertificate {
  /** Bit i set: committee member i signed. */
  signers: Uint8Array;
  /** The aggregate signature (48 bytes). */
  signature: Uint8Array;
}

/** An ordered set of witness keys, each admitted with its proof of possession. */
export class BlsCommittee {
  readonly publicKeys: readonly Uint8Array[];

  constructor(members: readonly { publicKey: Uint8Array; pop: Uint8Array }[]) {
    members.forEach((m, i) => {
      if (!verifyPop(m.publicKey, m.pop)) throw new BlsError(`committee member ${i} has no valid proof of possession`);
    });
    this.publicKeys = members.map((m) => m.publicKey);
  }

  /** Aggregate individual signatures (member index → signature) into one certificate; each is checked first. */
  aggregate(checkpointBody: string, sigs: ReadonlyMap<number, Uint8Array>): BlsCertificate {
    const signers = new Uint8Array(Math.ceil(this.publicKeys.length / 8));
    const msg = message(checkpointBody);
    for (const [i, sig] of sigs) {
      const pk = this.publicKeys[i];
      if (!pk) throw new BlsError(`no committee member ${i}`);
      const ok = (() => {
        try {
          return bls.verify(sig, msg, pk);
        } catch {
          return false;
        }
      })();
      if (!ok) throw new BlsError(`signature of member ${i} does not verify`);
      signers[i >> 3]! |= 1 << (i & 7);
    }
    if (sigs.size === 0) throw new BlsError("no signatures to aggregate");
    return { signers, signature: bls.Signature.toBytes(bls.aggregateSignatures([...sigs.values()])) };
  }

  /** Check a certificate: at least `k` members signed this body. One pairing check whatever the count. */
  verify(checkpointBody: string, cert: BlsCertificate, k: number): void {
    const members = this.publicKeys.filter((_pk, i) => ((cert.signers[i >> 3] ?? 0) >> (i & 7)) & 1);
    if (cert.signers.length !== Math.ceil(this.publicKeys.length / 8)) throw new BlsError("signer bitmap has the wrong length");
    if (members.length < k) throw new BlsError(`certificate has ${members.length} signers; the quorum needs ${k} of ${this.publicKeys.length}`);
    let ok: boolean;
    try {
      ok = bls.verify(cert.signature, message(checkpointBody), bls.aggregatePublicKeys(members));
    } catch (e) {
      throw new BlsError(`malformed certificate: ${(e as Error).message}`);
    }
    if (!ok) throw new BlsError("aggregate signature does not verify for the claimed signers");
  }
}
