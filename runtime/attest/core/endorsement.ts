/**
 * Endorsement of an attestation key (TCG "EK Credential Profile" and the credential-activation protocol of TPM 2.0
 * Part 1 §24): the verifier checks the TPM's EK certificate up to a manufacturer root it is configured with, then
 * challenges the AK with TPM2_MakeCredential — a secret only a TPM holding that EK's private key can recover
 * (TPM2_ActivateCredential), and only for an object with exactly this AK's name loaded beside it. An AK whose
 * challenge comes back right is resident with an endorsed EK; one from another TPM, or a key the TPM did not
 * generate (no fixedTPM), is refused. MakeCredential is done here with node:crypto, in the file format
 * `tpm2_makecredential -o` writes, so the attester runs the standard `tpm2_activatecredential`. Pure.
 */
import {
  createCipheriv,
  createHash,
  createHmac,
  createPublicKey,
  constants,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import { QuoteFormatError } from "./tpm.js";

export class EndorsementError extends Error {
  override name = "EndorsementError";
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
const pemCerts = (text: string) => (text.match(PEM_CERT) ?? []).map((p) => new X509Certificate(p));
const cn = (c: X509Certificate) => /CN=([^\n]+)/.exec(c.subject)?.[1] ?? c.subject.replace(/\n/g, ", ");
/** tcg-kp-EKCertificate: the extended key usage of an EK certificate. */
const TCG_KP_EK_CERTIFICATE = "2.23.133.8.1";

/**
 * The EK certificate (DER, as `tpm2_nvread 0x1c00002` or `tpm2_getekcertificate` reads it) chained through
 * `intermediates` to one of `roots` (the TPM manufacturers' CA certificates, PEM), each valid at `now`.
 * Returns the EK public key; throws EndorsementError naming the failing link.
 */
function endorseEk(ekCert: Uint8Array, o: { roots: string; intermediates?: string; now: number }): KeyObject {
  let ek: X509Certificate, roots: X509Certificate[], pool: X509Certificate[];
  try {
    // NV indices are often bigger than the certificate: read its DER length and ignore the padding.
    const der = Buffer.from(ekCert);
    const len = der[1] === 0x82 ? 4 + der.readUInt16BE(2) : der.length;
    ek = new X509Certificate(der.subarray(0, len));
    roots = pemCerts(o.roots);
    pool = pemCerts(o.intermediates ?? "");
  } catch (e) {
    throw new EndorsementError(`EK certificate: not X.509 (${(e as Error).message})`);
  }
  if (roots.length === 0) throw new EndorsementError("endorsement roots: no certificate; configure the TPM manufacturers' CA certificates (PEM)");
  const valid = (c: X509Certificate) => {
    if (!(o.now >= Date.parse(c.validFrom) && o.now <= Date.parse(c.validTo))) throw new EndorsementError(`${cn(c)} is valid ${c.validFrom} – ${c.validTo}, not at ${new Date(o.now).toISOString()}`);
  };
  if (ek.ca) throw new EndorsementError(`EK certificate ${cn(ek)} is a CA certificate`);
  if (ek.keyUsage !== undefined && !ek.keyUsage.includes(TCG_KP_EK_CERTIFICATE)) throw new EndorsementError(`EK certificate ${cn(ek)} lacks the tcg-kp-EKCertificate extended key usage`);
  valid(ek);
  let cert = ek;
  for (let depth = 0; depth < 5; depth++) {
    const root = roots.find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
    if (root) {
      valid(root);
      return ek.publicKey;
    }
    const issuer = pool.find((c) => c.ca && cert.checkIssued(c) && cert.verify(c.publicKey));
    if (!issuer) throw new EndorsementError(`EK certificate chain: ${cn(cert)} (issuer ${cert.issuer.replace(/\n/g, ", ")}) is not signed by a configured manufacturer root or a given intermediate`);
    valid(issuer);
    cert = issuer;
  }
  throw new EndorsementError("EK certificate chain: longer than 5 certificates");
}

/** TPMA_OBJECT bits an AK must have: the TPM generated it, it cannot leave, and it signs only TPM-made data. */
const ATTR = { fixedTPM: 1 << 1, fixedParent: 1 << 4, sensitiveDataOrigin: 1 << 5, restricted: 1 << 16, decrypt: 1 << 17, sign: 1 << 18 };
const TPM_ALG = { rsa: 0x0001, ecc: 0x0023, null: 0x0010, sha256: 0x000b, sha384: 0x000c };
const CURVES: Record<number, string> = { 0x0003: "P-256", 0x0004: "P-384", 0x0005: "P-521" };

export interface AkPublic {
  key: KeyObject;
  /** The TPM object name: nameAlg ‖ H(TPMT_PUBLIC) — what MakeCredential binds the secret to. */
  name: Buffer;
  attributes: number;
}

/** TPM2B_PUBLIC as `tpm2_createak -u` writes it: the AK's public area, its name and its attributes checked. */
export function parseAkPublic(raw: Uint8Array): AkPublic {
  const b = Buffer.from(raw);
  const fail = (why: string): never => {
    throw new QuoteFormatError(`AK public area (TPM2B_PUBLIC): ${why}`);
  };
  if (b.length < 2 || b.readUInt16BE(0) !== b.length - 2) fail(`${b.length} bytes; expected a TPM2B_PUBLIC (tpm2_createak -u)`);
  const area = b.subarray(2);
  let off = 0;
  const u16 = () => (off + 2 <= area.length ? ((off += 2), area.readUInt16BE(off - 2)) : fail("truncated"));
  const u32 = () => (off + 4 <= area.length ? ((off += 4), area.readUInt32BE(off - 4)) : fail("truncated"));
  const tpm2b = () => {
    const n = u16();
    if (off + n > area.length) fail("truncated");
    off += n;
    return area.subarray(off - n, off);
  };
  const type = u16();
  const nameAlg = u16();
  const attributes = u32();
  tpm2b(); // authPolicy
  if (u16() !== TPM_ALG.null) fail("a symmetric algorithm: a storage key, not an attestation key");
  if (u16() !== TPM_ALG.null) u16(); // the signing scheme and its hash
  let key: KeyObject;
  const jwk = (j: Record<string, string>) => createPublicKey({ key: j, format: "jwk" });
  if (type === TPM_ALG.rsa) {
    u16(); // keyBits
    const exponent = u32() || 65537;
    const e = Buffer.alloc(4);
    e.writeUInt32BE(exponent);
    const n = tpm2b();
    key = jwk({ kty: "RSA", n: n.toString("base64url"), e: e.subarray(e.findIndex((x) => x !== 0)).toString("base64url") });
  } else if (type === TPM_ALG.ecc) {
    const crv = CURVES[u16()] ?? fail("an unsupported curve");
    if (u16() !== TPM_ALG.null) u16(); // kdf scheme
    const x = tpm2b();
    const y = tpm2b();
    key = jwk({ kty: "EC", crv, x: x.toString("base64url"), y: y.toString("base64url") });
  } else return fail(`type 0x${type.toString(16)}; an AK is RSA or ECC`);
  if (off !== area.length) fail("trailing bytes");
  // tpm2_createak gives the AK its parent EK's nameAlg: SHA-256 under the low-range EKs, SHA-384 under the high-range.
  const nameHash = nameAlg === TPM_ALG.sha256 ? "sha256" : nameAlg === TPM_ALG.sha384 ? "sha384" : fail(`nameAlg 0x${nameAlg.toString(16)}; expected sha256 or sha384`);
  const missing = (["fixedTPM", "fixedParent", "sensitiveDataOrigin", "restricted", "sign"] as const).filter((a) => !(attributes & ATTR[a]));
  if (missing.length) fail(`attributes 0x${attributes.toString(16)} lack ${missing.join(", ")}: not a key the TPM generated for attestation only`);
  if (attributes & ATTR.decrypt) fail("a decryption key; an AK only signs");
  const name = Buffer.concat([Buffer.from([nameAlg >> 8, nameAlg & 0xff]), createHash(nameHash).update(area).digest()]);
  return { key, name, attributes };
}

/** The hash of a TCG EK template's nameAlg, its digest bytes, and its symmetric key bits (AES-CFB). */
interface EkProfile {
  hash: "sha256" | "sha384";
  bytes: number;
  aesBits: 128 | 256;
}

/**
 * KDFa (TPM 2.0 Part 1 §11.4.10.2): HMAC in counter mode; the label's terminating zero is included. Any curve or
 * key size outside the TCG EK templates is refused before this runs.
 */
function kdfa(p: EkProfile, key: Buffer, label: string, contextU: Buffer, contextV: Buffer, bits: number): Buffer {
  const out: Buffer[] = [];
  const size = Buffer.alloc(4);
  size.writeUInt32BE(bits);
  for (let i = 1; out.length * p.bytes * 8 < bits; i++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    out.push(
      createHmac(p.hash, key)
        .update(Buffer.concat([counter, Buffer.from(`${label}\0`), contextU, contextV, size]))
        .digest(),
    );
  }
  return Buffer.concat(out).subarray(0, bits / 8);
}

/** KDFe (TPM 2.0 Part 1 §11.4.10.3, the SP 800-56A concatenation KDF); the label's terminating zero is included. */
function kdfe(p: EkProfile, z: Buffer, label: string, partyU: Buffer, partyV: Buffer, bits: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 1; out.length * p.bytes * 8 < bits; i++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(i);
    out.push(
      createHash(p.hash)
        .update(Buffer.concat([counter, z, Buffer.from(`${label}\0`), partyU, partyV]))
        .digest(),
    );
  }
  return Buffer.concat(out).subarray(0, bits / 8);
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/**
 * The EK's template by its key (TCG EK Credential Profile 2.x, Annex B): RSA 2048 and NIST P-256 are the low-range
 * templates L-1/L-2 (nameAlg SHA-256, AES-128-CFB: `tpm2_createek -G rsa|ecc`); RSA 3072 and NIST P-384 the
 * high-range H-2/H-3 (SHA-384, AES-256-CFB: the ECC EK swtpm_setup provisions at 0x81010016 with its certificate).
 */
function ekProfile(ek: KeyObject): EkProfile & { curve?: string } {
  const low: EkProfile = { hash: "sha256", bytes: 32, aesBits: 128 };
  const high: EkProfile = { hash: "sha384", bytes: 48, aesBits: 256 };
  if (ek.asymmetricKeyType === "rsa") {
    const bits = ek.asymmetricKeyDetails?.modulusLength;
    if (bits === 2048) return low;
    if (bits === 3072) return high;
    throw new EndorsementError(`EK: RSA ${bits ?? "?"} bits; the TCG EK templates are RSA 2048 and 3072`);
  }
  const crv = ek.asymmetricKeyType === "ec" ? ek.export({ format: "jwk" }).crv : undefined;
  if (crv === "P-256") return { ...low, curve: "prime256v1" };
  if (crv === "P-384") return { ...high, curve: "secp384r1" };
  throw new EndorsementError(`EK: a ${ek.asymmetricKeyType}${crv ? ` ${crv}` : ""} key; credential activation is implemented for RSA 2048/3072 and NIST P-256/P-384 EKs`);
}

/**
 * The credential's seed and its encryption to the EK (TPM 2.0 Part 1 §24.4, Annex B.10.4 / C.6.4): RSA-OAEP with
 * the EK's nameAlg and label "IDENTITY" for an RSA EK; for an ECC EK, one-pass ECDH with an ephemeral key on the
 * EK's curve, seed = KDFe(Z, "IDENTITY", ephemeral x, EK x), sent as the ephemeral point (TPMS_ECC_POINT).
 */
function seedFor(ek: KeyObject, p: EkProfile & { curve?: string }): { seed: Buffer; encryptedSecret: Buffer } {
  if (!p.curve) {
    const seed = randomBytes(p.bytes);
    return { seed, encryptedSecret: publicEncrypt({ key: ek, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: p.hash, oaepLabel: Buffer.from("IDENTITY\0") }, seed) };
  }
  const ephemeral = generateKeyPairSync("ec", { namedCurve: p.curve });
  const z = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: ek }); // the shared point's x, curve-sized
  const coord = (k: KeyObject, c: "x" | "y") => Buffer.from(k.export({ format: "jwk" })[c]!, "base64url");
  const [ex, ey] = [coord(ephemeral.publicKey, "x"), coord(ephemeral.publicKey, "y")];
  const seed = kdfe(p, z, "IDENTITY", ex, coord(ek, "x"), p.bytes * 8);
  return { seed, encryptedSecret: Buffer.concat([u16(ex.length), ex, u16(ey.length), ey]) };
}

/**
 * TPM2_MakeCredential for an EK of a TCG template (above): the credential file `tpm2_makecredential -o` writes
 * (magic 0xBADCC0DE, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET), which `tpm2_activatecredential -i`
 * reads. The symmetric key and the integrity HMAC use the EK's nameAlg; the AK's name is bound into both.
 */
function makeCredential(ek: KeyObject, akName: Buffer, secret: Buffer): Buffer {
  if (secret.length > 32) throw new EndorsementError("credential: at most 32 bytes");
  const p = ekProfile(ek);
  const { seed, encryptedSecret } = seedFor(ek, p);
  const symKey = kdfa(p, seed, "STORAGE", akName, Buffer.alloc(0), p.aesBits);
  const cipher = createCipheriv(`aes-${p.aesBits}-cfb`, symKey, Buffer.alloc(16));
  const encIdentity = Buffer.concat([cipher.update(Buffer.concat([u16(secret.length), secret])), cipher.final()]);
  const hmacKey = kdfa(p, seed, "INTEGRITY", Buffer.alloc(0), Buffer.alloc(0), p.bytes * 8);
  const integrity = createHmac(p.hash, hmacKey)
    .update(Buffer.concat([encIdentity, akName]))
    .digest();
  const idObject = Buffer.concat([u16(integrity.length), integrity, encIdentity]);
  return Buffer.concat([Buffer.from([0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1]), u16(idObject.length), idObject, u16(encryptedSecret.length), encryptedSecret]);
}

export interface AkChallenge {
  /** The credential file for the attester's `tpm2_activatecredential -i`. */
  credential: Buffer;
  /** What the verifier expects back; keep it, never send it. */
  secret: Buffer;
  ak: AkPublic;
}

/** Enrolment, step 1: the EK certificate endorsed, the AK's public area sound, a credential only that TPM can open. */
export function challengeAk(o: { ekCert: Uint8Array; akPublic: Uint8Array; roots: string; intermediates?: string; now: number }): AkChallenge {
  const ek = endorseEk(o.ekCert, o);
  const ak = parseAkPublic(o.akPublic);
  const secret = randomBytes(32);
  return { credential: makeCredential(ek, ak.name, secret), secret, ak };
}

/** Enrolment, step 2: the secret the attester's TPM recovered; the AK (PEM) to endorse, or why not. */
export function completeAkChallenge(challenge: AkChallenge, activated: Uint8Array): string {
  const got = Buffer.from(activated);
  if (got.length !== challenge.secret.length || !timingSafeEqual(got, challenge.secret)) {
    throw new EndorsementError("credential activation: the secret came back wrong; the AK is not resident with the endorsed EK");
  }
  return challenge.ak.key.export({ format: "pem", type: "spki" }).toString();
}
