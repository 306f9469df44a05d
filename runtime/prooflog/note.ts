/**
 * C2SP signed-note (the format of Go's golang.org/x/mod/sumdb/note): a UTF-8 text ending in a newline, a blank
 * line, then one or more lines `— <name> base64(keyID[4] ‖ signature)`. Keys are text:
 *   signer   PRIVATE+KEY+<name>+<hex keyID>+base64(0x01 ‖ Ed25519 seed)
 *   verifier <name>+<hex keyID>+base64(0x01 ‖ Ed25519 public key)
 * with keyID = SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[:4] read big-endian. Verifier keys of type 0x04 are
 * C2SP tlog-cosignature/v1 witness keys (see witness/cosignature.ts).
 *
 * `openNote` follows Go's note.Open: a malformed note, a known key whose signature fails, and an ambiguous key
 * are errors; signatures by unknown keys are kept as unverified; a note no known key signed is an error too.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, hash, randomBytes, sign, verify, type KeyObject } from "node:crypto";
import { ml_dsa44 } from "@noble/post-quantum/ml-dsa.js";

export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
/** C2SP tlog-cosignature ML-DSA-44 (subtree/v1) witness keys: 32-byte seed, 1,312-byte public key. */
export const ALG_MLDSA44 = 0x06;
const MLDSA44_PUBLIC_KEY = 1312;
const MAX_SIGNATURES = 100;

export type NoteErrorKind = "malformed" | "unverified" | "invalid-signature" | "ambiguous-key" | "bad-key";

export class NoteError extends Error {
  override name = "NoteError";
  constructor(
    readonly kind: NoteErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface Signer {
  readonly name: string;
  readonly keyId: number;
  /** Signature bytes (without the key ID) over the note text. */
  sign(text: Uint8Array): Uint8Array;
}

export interface Verifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, sig: Uint8Array): boolean;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  base64: string;
}

export interface OpenedNote {
  text: string;
  sigs: NoteSignature[];
  unverified: NoteSignature[];
}

function isValidName(name: string): boolean {
  return name !== "" && !/[\s+]/u.test(name);
}

export function keyId(name: string, alg: number, publicKey: Uint8Array): number {
  const h = hash("sha256", Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([alg]), publicKey]), "buffer");
  return h.readUInt32BE(0);
}

const hex8 = (id: number) => id.toString(16).padStart(8, "0");
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" });
}
export function ed25519PublicKey(pub: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, pub]), format: "der", type: "spki" });
}
function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: "der", type: "spki" }).subarray(SPKI_ED25519.length);
}

/** A new Ed25519 key pair in sumdb/note text form. */
export function generateKey(name: string, alg = ALG_ED25519): { signerKey: string; verifierKey: string } {
  if (!isValidName(name)) throw new NoteError("bad-key", `key name "${name}" must be non-empty without spaces or "+"`);
  if (alg === ALG_MLDSA44) {
    const seed = randomBytes(32);
    const pub = ml_dsa44.keygen(seed).publicKey;
    return {
      signerKey: `PRIVATE+KEY+${name}+${hex8(keyId(name, alg, pub))}+${Buffer.concat([Buffer.from([alg]), seed]).toString("base64")}`,
      verifierKey: verifierKeyString(name, alg, pub),
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_ED25519.length);
  const pub = rawPublicKey(publicKey);
  const id = keyId(name, alg, pub);
  return {
    signerKey: `PRIVATE+KEY+${name}+${hex8(id)}+${Buffer.concat([Buffer.from([alg]), seed]).toString("base64")}`,
    verifierKey: verifierKeyString(name, alg, pub),
  };
}

export function verifierKeyString(name: string, alg: number, pub: Uint8Array): string {
  return `${name}+${hex8(keyId(name, alg, pub))}+${Buffer.concat([Buffer.from([alg]), pub]).toString("base64")}`;
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
function decodeB64(s: string): Buffer | null {
  if (!B64.test(s) || s.length % 4 !== 0) return null;
  return Buffer.from(s, "base64");
}

/** Parse a key line into its parts, checking the key ID against the public key. */
export interface ParsedSignerKey {
  name: string;
  keyId: number;
  alg: number;
  seed: Buffer;
  publicKey: Buffer;
}

/** Split at the first `n` pluses only: the base64 key material may itself contain "+". */
function chop(s: string, n: number): string[] | null {
  const parts: string[] = [];
  let rest = s.trim();
  for (let i = 0; i < n; i++) {
    const at = rest.indexOf("+");
    if (at < 0) return null;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  parts.push(rest);
  return parts;
}

export function parseSignerKey(skey: string): ParsedSignerKey {
  const parts = chop(skey, 4);
  if (!parts || parts[0] !== "PRIVATE" || parts[1] !== "KEY") throw new NoteError("bad-key", "signer key must look like PRIVATE+KEY+<name>+<hex key id>+<base64 key>");
  const [, , name, id16, b64] = parts as [string, string, string, string, string];
  const key = decodeB64(b64);
  if (!isValidName(name) || !/^[0-9a-f]{8}$/i.test(id16) || !key || key.length === 0) throw new NoteError("bad-key", `malformed signer key for "${name}"`);
  const alg = key[0]!;
  const seed = key.subarray(1);
  if ((alg !== ALG_ED25519 && alg !== ALG_COSIGNATURE_V1 && alg !== ALG_MLDSA44) || seed.length !== 32)
    throw new NoteError("bad-key", `signer key "${name}": unknown algorithm ${alg} or wrong seed length ${seed.length}`);
  const publicKey = alg === ALG_MLDSA44 ? Buffer.from(ml_dsa44.keygen(seed).publicKey) : rawPublicKey(createPublicKey(ed25519PrivateKey(seed)));
  if (keyId(name, alg, publicKey) !== parseInt(id16, 16)) throw new NoteError("bad-key", `signer key "${name}": key id ${id16} does not match the key`);
  return { name, keyId: parseInt(id16, 16), alg, seed, publicKey };
}

/** The verifier key (text form) of a signer key. */
export function verifierKeyOf(skey: string): string {
  const k = parseSignerKey(skey);
  return verifierKeyString(k.name, k.alg, k.publicKey);
}

export interface ParsedVerifierKey {
  name: string;
  keyId: number;
  alg: number;
  publicKey: Buffer;
}

export function parseVerifierKey(vkey: string): ParsedVerifierKey {
  const parts = chop(vkey, 2);
  if (!parts) throw new NoteError("bad-key", `verifier key "${vkey}" must look like <name>+<hex key id>+<base64 key>`);
  const [name, id16, b64] = parts as [string, string, string];
  const key = decodeB64(b64);
  if (!isValidName(name) || !/^[0-9a-f]{8}$/i.test(id16) || !key || key.length === 0) throw new NoteError("bad-key", `malformed verifier key "${vkey}"`);
  const alg = key[0]!;
  const publicKey = key.subarray(1);
  const want = alg === ALG_MLDSA44 ? MLDSA44_PUBLIC_KEY : 32;
  if ((alg !== ALG_ED25519 && alg !== ALG_COSIGNATURE_V1 && alg !== ALG_MLDSA44) || publicKey.length !== want) {
    throw new NoteError("bad-key", `verifier key "${name}": unknown algorithm ${alg} or wrong key length ${publicKey.length}`);
  }
  if (keyId(name, alg, publicKey) !== parseInt(id16, 16)) throw new NoteError("bad-key", `verifier key "${name}": key id ${id16} does not match the key`);
  return { name, keyId: parseInt(id16, 16), alg, publicKey };
}

/** An Ed25519 note signer from a PRIVATE+KEY line (algorithm 0x01). */
export function newSigner(skey: string): Signer {
  const k = parseSignerKey(skey);
  if (k.alg !== ALG_ED25519) throw new NoteError("bad-key", `signer key "${k.name}" is a cosignature key; use a witness cosigner`);
  const priv = ed25519PrivateKey(k.seed);
  return { name: k.name, keyId: k.keyId, sign: (text) => sign(null, text, priv) };
}

/** An Ed25519 note verifier from a verifier key line (algorithm 0x01). */
export function newVerifier(vkey: string): Verifier {
  const k = parseVerifierKey(vkey);
  if (k.alg !== ALG_ED25519) throw new NoteError("bad-key", `verifier key "${k.name}" has algorithm ${k.alg}; expected Ed25519 (1)`);
  const pub = ed25519PublicKey(k.publicKey);
  return { name: k.name, keyId: k.keyId, verify: (text, sig) => sig.length === 64 && verify(null, text, pub, sig) };
}

function sigLine(name: string, id: number, sig: Uint8Array): string {
  const b = Buffer.alloc(4 + sig.length);
  b.writeUInt32BE(id >>> 0, 0);
  b.set(sig, 4);
  return `— ${name} ${b.toString("base64")}\n`;
}

/**
 * Sign `text` (which must end in a newline). Existing signature lines are kept unless one of the signers
 * re-signs with the same key, as Go's note.Sign does.
 */
export function signNote(text: string, signers: readonly Signer[], existing: readonly NoteSignature[] = []): string {
  if (!text.endsWith("\n")) throw new NoteError("malformed", "note text must end with a newline");
  checkText(Buffer.from(text));
  const body = Buffer.from(text);
  const fresh = signers.map((s) => sigLine(s.name, s.keyId, s.sign(body)));
  const replaced = new Set(signers.map((s) => `${s.name}+${s.keyId}`));
  const kept = existing.filter((s) => !replaced.has(`${s.name}+${s.keyId}`)).map((s) => `— ${s.name} ${s.base64}\n`);
  return `${text}\n${kept.join("")}${fresh.join("")}`;
}

function checkText(msg: Uint8Array): string {
  let s: string;
  try {
    s = new TextDecoder("utf-8", { fatal: true }).decode(msg);
  } catch {
    throw new NoteError("malformed", "note is not valid UTF-8");
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x09\x0b-\x1f]/.test(s)) throw new NoteError("malformed", "note contains a control character other than newline");
  return s;
}

/** A signed note split into its text and signature lines, nothing verified yet. */
export interface ParsedNote {
  text: string;
  /** Every signature line in order, with its raw signature bytes (key ID stripped). */
  lines: (NoteSignature & { sig: Buffer })[];
}

/** Parse one signature line `— <name> base64(keyID ‖ signature)`; `n` is its 1-based position for errors. */
function parseSignatureLine(line: string, n: number): NoteSignature & { sig: Buffer } {
  const where = `signature line ${n} ${JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line)}`;
  if (!line.startsWith("— ")) throw new NoteError("malformed", `${where} does not start with "— " (em dash, space)`);
  const rest = line.slice(2);
  const space = rest.indexOf(" ");
  if (space < 0) throw new NoteError("malformed", `${where} has no space between the key name and the signature`);
  const name = rest.slice(0, space);
  const b64 = rest.slice(space + 1);
  if (!isValidName(name)) throw new NoteError("malformed", `${where}: key name "${name}" must be non-empty without spaces or "+"`);
  const raw = decodeB64(b64);
  if (!raw) throw new NoteError("malformed", `${where}: the signature is not standard padded base64`);
  if (raw.length < 5) throw new NoteError("malformed", `${where}: the signature is ${raw.length} bytes; it needs a 4-byte key ID and at least one signature byte`);
  return { name, keyId: raw.readUInt32BE(0), base64: b64, sig: raw.subarray(4) };
}

/**
 * The one signed-note parser (C2SP signed-note): the text up to and including the newline before the last blank
 * line, then signature lines. Throws NoteError "malformed" naming the line and what is wrong with it.
 */
export function parseSignedNote(msg: Uint8Array | string): ParsedNote {
  const s = checkText(typeof msg === "string" ? Buffer.from(msg) : msg);
  const split = s.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("malformed", "note has no blank line before its signatures");
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block === "") throw new NoteError("malformed", "note has no signature lines after its blank line");
  if (!block.endsWith("\n")) throw new NoteError("malformed", "the last signature line does not end in a newline");
  const raw = block.slice(0, -1).split("\n");
  if (raw.length > MAX_SIGNATURES) throw new NoteError("malformed", `note has ${raw.length} signature lines; at most ${MAX_SIGNATURES} are allowed`);
  return { text, lines: raw.map((l, i) => parseSignatureLine(l, i + 1)) };
}

/**
 * Split input for signing: a note that already has a signature block comes back as text + signatures (strictly
 * parsed, so a malformed signature line is an error, never silently signed over as text); input with no
 * signature block is all text.
 */
export function splitForSigning(input: string): { text: string; sigs: NoteSignature[] } {
  const split = input.lastIndexOf("\n\n");
  const block = split < 0 ? "" : input.slice(split + 2);
  const looksSigned = block.split("\n").some((l) => l.startsWith("— ") || l.startsWith("—"));
  if (!looksSigned) return { text: input, sigs: [] };
  const { text, lines } = parseSignedNote(input);
  return { text, sigs: lines.map(({ name, keyId, base64 }) => ({ name, keyId, base64 })) };
}

/** Open a signed note, verifying signatures by the known keys. */
export function openNote(msg: Uint8Array | string, known: readonly Verifier[]): OpenedNote {
  const { text, lines } = parseSignedNote(msg);
  const textBytes = Buffer.from(text);
  const sigs: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const { name, keyId: id, base64: b64, sig: raw } of lines) {
    const matches = known.filter((v) => v.name === name && v.keyId === id);
    const sig: NoteSignature = { name, keyId: id, base64: b64 };
    const key = `${name}+${id}`;
    if (matches.length === 0) {
      if (!unverified.some((u) => u.name === name && u.base64 === b64)) unverified.push(sig);
      continue;
    }
    if (matches.length > 1) throw new NoteError("ambiguous-key", `ambiguous key ${name}+${hex8(id)}: more than one known key has that name and id`);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!matches[0]!.verify(textBytes, raw)) throw new NoteError("invalid-signature", `invalid signature for key ${name}+${hex8(id)}`);
    sigs.push(sig);
  }
  if (sigs.length === 0) {
    const who = unverified.map((u) => `${u.name}+${hex8(u.keyId)}`).join(", ");
    throw new NoteError("unverified", `note has no signature from a known key (signed by ${who})`);
  }
  return { text, sigs, unverified };
}
