/**
 * C2SP tlog-cosignature/v1 (Ed25519, key type 0x04): a witness signs
 *   "cosignature/v1\ntime <POSIX seconds>\n" ‖ checkpoint body
 * and the note signature is keyID ‖ u64 big-endian timestamp ‖ 64-byte Ed25519 signature. The timestamp is
 * inside the signed message, so a cosignature also attests "as of this time, this is the largest consistent
 * tree I have seen".
 */
import { sign, verify } from "node:crypto";
import type { Clock } from "../../common/clock.js";
import { ALG_COSIGNATURE_V1, ed25519PrivateKey, ed25519PublicKey, NoteError, parseSignerKey, parseVerifierKey, type Signer, type Verifier } from "../note.js";

function cosignedMessage(text: Uint8Array, time: bigint): Buffer {
  return Buffer.concat([Buffer.from(`cosignature/v1\ntime ${time}\n`), text]);
}

/** A witness signer from a PRIVATE+KEY line whose algorithm byte is 0x04. */
export function newCosigner(skey: string, clock: Clock): Signer {
  const k = parseSignerKey(skey);
  if (k.alg !== ALG_COSIGNATURE_V1) throw new NoteError("bad-key", `signer key "${k.name}" is not a cosignature/v1 key (algorithm ${k.alg})`);
  const priv = ed25519PrivateKey(k.seed);
  return {
    name: k.name,
    keyId: k.keyId,
    sign(text) {
      const time = BigInt(Math.floor(clock.now() / 1000));
      const out = Buffer.alloc(8 + 64);
      out.writeBigUInt64BE(time, 0);
      sign(null, cosignedMessage(text, time), priv).copy(out, 8);
      return out;
    },
  };
}

/** The POSIX time (seconds) a cosignature line's signature bytes claim, or null if they are not cosignature/v1. */
export function cosignatureTime(sig: Uint8Array): number | null {
  return sig.length === 72 ? Number(Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength).readBigUInt64BE(0)) : null;
}

/** A verifier for a witness's cosignature/v1 key (verifier key with algorithm byte 0x04). */
export function newCosignatureVerifier(vkey: string): Verifier {
  const k = parseVerifierKey(vkey);
  if (k.alg !== ALG_COSIGNATURE_V1) throw new NoteError("bad-key", `verifier key "${k.name}" is not a cosignature/v1 key (algorithm ${k.alg})`);
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
