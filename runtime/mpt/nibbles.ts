/**
 * Keys as nibble paths and the Yellow Paper's hex-prefix (compact) encoding of a path (Appendix C). A byte key
 * is walked high nibble first; nibble order equals byte order, so the trie's in-order walk is key order.
 */
import { MptError } from "./errors.js";

/** A path of nibbles, one per element (0..15). */
export type Nibbles = Uint8Array;

export function toNibbles(key: Uint8Array): Nibbles {
  const out = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4;
    out[2 * i + 1] = key[i]! & 0x0f;
  }
  return out;
}

/** Bytes of an even-length nibble path (a whole key). */
export function fromNibbles(path: Nibbles): Uint8Array {
  if (path.length % 2 !== 0) throw new MptError(`a key path of ${path.length} nibbles is not whole bytes`);
  const out = new Uint8Array(path.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (path[2 * i]! << 4) | path[2 * i + 1]!;
  return out;
}

/**
 * Hex-prefix encoding: the first nibble carries flags (bit 1: leaf, bit 0: odd length); an even path gets a
 * zero padding nibble, so the result is always whole bytes.
 */
export function hexPrefixEncode(path: Nibbles, leaf: boolean): Uint8Array {
  const odd = path.length % 2;
  const out = new Uint8Array(1 + (path.length - odd) / 2);
  const flag = (leaf ? 2 : 0) + odd;
  out[0] = (flag << 4) | (odd ? path[0]! : 0);
  for (let i = odd, j = 1; i < path.length; i += 2, j++) out[j] = (path[i]! << 4) | path[i + 1]!;
  return out;
}

export function hexPrefixDecode(encoded: Uint8Array): { path: Nibbles; leaf: boolean } {
  if (encoded.length === 0) throw new MptError("hex-prefix path is empty (it needs at least the flag byte)");
  const flag = encoded[0]! >> 4;
  if (flag > 3) throw new MptError(`hex-prefix flag nibble is ${flag}; expected 0..3`);
  const odd = flag & 1;
  if (!odd && (encoded[0]! & 0x0f) !== 0) throw new MptError("hex-prefix path of even length has a non-zero padding nibble");
  const all = toNibbles(encoded);
  return { path: all.slice(odd ? 1 : 2), leaf: (flag & 2) !== 0 };
}

export function commonPrefixLength(a: Nibbles, b: Nibbles): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export function concatNibbles(...parts: Nibbles[]): Nibbles {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function isPrefixOf(prefix: Nibbles, of: Nibbles): boolean {
  return prefix.length <= of.length && commonPrefixLength(prefix, of) === prefix.length;
}

/** Lexicographic order, a proper prefix first: the order of the keys the paths spell. */
export function compareNibbles(a: Nibbles, b: Nibbles): number {
  const i = commonPrefixLength(a, b);
  if (i < a.length && i < b.length) return a[i]! - b[i]!;
  return a.length - b.length;
}
