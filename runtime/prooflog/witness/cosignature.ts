/**
 * C2SP tlog-cosignature: a witness's statement that it verified a checkpoint's consistency. Two types:
 *
 * - Ed25519 cosignature/v1 (key type 0x04) signs "cosignature/v1\ntime <t>\n" ‖ checkpoint body.
 * - ML-DSA-44 subtree/v1 (key type 0x06, FIPS 204 pure mode, empty context) signs the TLS-encoded
 *     cosigned_message { "subtree/v1\n\0", cosigner_name<1..255>, u64 timestamp, log_origin<1..255>,
 *                        u64 start, u64 end, hash[32] }
 *   over origin, size and root only (extension lines are not covered); it also signs subtrees [start, end) of
 *   the log, with timestamp 0.
 *
 * Either way the note signature is keyID ‖ u64 big-endian timestamp ‖ signature (64 or 2,420 bytes).
 */
import { sign, verify } from "node:crypto";
import { ml_dsa44 } from "@noble/post-quantum/ml-dsa.js";
import type { Clock } from "../../common/clock.js";
import { parseCheckpoint } from "../checkpoint.js";
import { ALG_COSIGNATURE_V1, ALG_MLDSA44, ed25519PrivateKey, ed25519PublicKey, NoteError, parseSignerKey, parseVerifierKey, type Signer, type Verifier } from "../note.js";
import type { Hash } from "../rfc6962.js";

const MLDSA44_SIGNATURE = 2420;

function cosignedMessage(text: Uint8Array, time: bigint): Buffer {
  return Buffer.concat([Buffer.from(`cosignature/v1\ntime ${time}\n`), text]);
}

/** The ML-DSA-44 cosigned_message (TLS presentation language encoding). */
export function subtreeMessage(cosigner: string, timestamp: bigint, origin: string, start: bigint, end: bigint, hash: Hash): Buffer {
  const name = Buffer.from(cosigner, "utf8");
  const org = Buffer.from(origin, "utf8");
  if (name.length < 1 || name.length > 255 || org.length < 1 || org.length > 255) throw new NoteError("bad-key", "cosigner name and log origin must be 1..255 bytes");
  if (start !== 0n && timestamp !== 0n) throw new NoteError("malformed", "a subtree cosignature with start > 0 must have timestamp 0");
  const u64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    return b;
  };
  return Buffer.concat([Buffer.from("subtree/v1\n\0", "latin1"), Buffer.from([name.length]), name, u64(timestamp), Buffer.from([org.length]), org, u64(start), u64(end), hash]);
}

function timestamped(time: bigint, sig: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + sig.length);
  out.writeBigUInt64BE(time, 0);
  out.set(sig, 8);
  return out;
}

/** A witness's subtree signer (ML-DSA-44 only: the Ed25519 type cannot sign subtrees). */
export interface SubtreeSigner {
  readonly name: string;
  readonly keyId: number;
  signSubtree(origin: string, start: number, end: number, hash: Hash): Uint8Array;
}

/** A witness cosigner from a PRIVATE+KEY line of type 0x04 (Ed25519) or 0x06 (ML-DSA-44). */
export function newCosigner(skey: string, clock: Clock): Signer & Partial<SubtreeSigner> {
  const k = parseSignerKey(skey);
  const now = () => BigInt(Math.floor(clock.now() / 1000));
  if (k.alg === ALG_MLDSA44) {
    const { secretKey } = ml_dsa44.keygen(k.seed);
    return {
      name: k.name,
      keyId: k.keyId,
      sign(text) {
        const cp = parseCheckpoint(Buffer.from(text).toString("utf8"));
        const t = now();
        return timestamped(t, ml_dsa44.sign(subtreeMessage(k.name, t, cp.origin, 0n, BigInt(cp.size), cp.root), secretKey));
      },
      signSubtree(origin, start, end, hash) {
        return timestamped(0n, ml_dsa44.sign(subtreeMessage(k.name, 0n, origin, BigInt(start), BigInt(end), hash), secretKey));
      },
    };
  }
  if (k.alg !== ALG_COSIGNATURE_V1) throw new NoteError("bad-key", `signer key "${k.name}" is not a witness key (algorithm ${k.alg}; expected 4, Ed25519 cosignature/v1, or 6, ML-DSA-44)`);
  const priv = ed25519PrivateKey(k.seed);
  return {
    name: k.name,
    keyId: k.keyId,
    sign(text) {
      const time = now();
      return timestamped(time, sign(null, cosignedMessage(text, time), priv));
    },
  };
}

/** The POSIX time (seconds) a cosignature's signature bytes claim, or null if they are not a cosignature. */
export function cosignatureTime(sig: Uint8Array): number | null {
  return sig.length === 72 || sig.length === 8 + MLDSA44_SIGNATURE ? Number(Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).readBigUInt64BE(0)) : null;
}

/** A verifier for a witness key (type 0x04 or 0x06) over checkpoints. */
export function newCosignatureVerifier(vkey: string): Verifier {
  const k = parseVerifierKey(vkey);
  if (k.alg === ALG_MLDSA44) {
    return {
      name: k.name,
      keyId: k.keyId,
      verify(text, sig) {
        if (sig.length !== 8 + MLDSA44_SIGNATURE) return false;
        const time = Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).readBigUInt64BE(0);
        if (time >= 1n << 63n || time === 0n) return false; // a checkpoint cosignature must carry its time
        let cp;
        try {
          cp = parseCheckpoint(Buffer.from(text).toString("utf8"));
        } catch {
          return false;
        }
        return ml_dsa44.verify(sig.subarray(8), subtreeMessage(k.name, time, cp.origin, 0n, BigInt(cp.size), cp.root), k.publicKey);
      },
    };
  }
  if (k.alg !== ALG_COSIGNATURE_V1) throw new NoteError("bad-key", `verifier key "${k.name}" is not a witness key (algorithm ${k.alg}; expected 4 or 6)`);
  const pub = ed25519PublicKey(k.publicKey);
  return {
    name: k.name,
    keyId: k.keyId,
    verify(text, sig) {
      if (sig.length !== 72) return false;
      const time = Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).readBigUInt64BE(0);
      if (time >= 1n << 63n) return false;
      return verify(null, cosignedMessage(text, time), pub, sig.subarray(8));
    },
  };
}

/** Check an ML-DSA-44 subtree cosignature (signature bytes after the key ID) for [start, end) with `hash`. */
export function verifySubtreeCosignature(vkey: string, origin: string, start: number, end: number, hash: Hash, sig: Uint8Array): boolean {
  const k = parseVerifierKey(vkey);
  if (k.alg !== ALG_MLDSA44 || sig.length !== 8 + MLDSA44_SIGNATURE) return false;
  if (Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).readBigUInt64BE(0) !== 0n) return false;
  return ml_dsa44.verify(sig.subarray(8), subtreeMessage(k.name, 0n, origin, BigInt(start), BigInt(end), hash), k.publicKey);
}
