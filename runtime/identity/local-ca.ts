/**
 * A local trust domain for development and tests: a self-signed CA and X.509-SVIDs it signs, as SPIRE
 * would issue them (ECDSA P-256, one URI SAN, serverAuth + clientAuth, short TTL). Built with
 * @peculiar/x509 on Node's WebCrypto; the clock is injected so tests can mint expired or future SVIDs.
 * Production SVIDs come from the SPIRE agent; this never runs in a cluster.
 */
import { webcrypto } from "node:crypto";
import type { JsonGeneralName, X509CertificateGenerator } from "@peculiar/x509";
import type { Clock } from "../common/clock.js";
import { parseSpiffeId, type SpiffeId } from "./spiffe-id.js";
import { x509 as load } from "./x509.js";

type KeyPair = Parameters<typeof X509CertificateGenerator.createSelfSigned>[0]["keys"];
type Key = KeyPair["privateKey"];

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

/** An SVID and its key, PEM-encoded for node:tls (`cert`, `key`). */
export interface Svid {
  id: SpiffeId;
  cert: string;
  key: string;
  notAfter: Date;
}

export interface LocalTrustDomain {
  trustDomain: string;
  /** The trust bundle: the CA certificate (PEM) peers verify SVIDs against. */
  bundle: string;
  issueSvid(id: string, options?: { ttlSeconds?: number; dnsNames?: string[] }): Promise<Svid>;
}

async function keyPem(key: Key): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", key as unknown as webcrypto.CryptoKey);
  return load().PemConverter.encode(pkcs8, "PRIVATE KEY");
}

const serial = () =>
  Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "1");

/**
 * A condition on issuance, checked before every SVID is signed (e.g. a fresh, accepted attestation result for the
 * node: runtime/attest's `attestationAdmission`): true, or why the workload gets no SVID.
 */
export type SvidAdmission = (id: SpiffeId) => true | string | Promise<true | string>;

export class SvidAdmissionError extends Error {
  override name = "SvidAdmissionError";
  constructor(
    readonly id: string,
    readonly reason: string,
  ) {
    super(`no SVID for ${id}: ${reason}`);
  }
}

/** Mint a trust domain CA valid for `caTtlSeconds` from the clock's now (backdated a minute for skew). */
export async function createLocalTrustDomain(trustDomain: string, clock: Clock, caTtlSeconds = 86400, issuance: { admit?: SvidAdmission } = {}): Promise<LocalTrustDomain> {
  const td = parseSpiffeId(`spiffe://${trustDomain}`);
  const x509 = load();
  const now = clock.now();
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as unknown as KeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${trustDomain} local CA, O=Meridian`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + caTtlSeconds * 1000),
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      // The CA's own SPIFFE ID is the trust domain's, as SPIRE's CA certificates carry.
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: td.uri }]),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  return {
    trustDomain: td.trustDomain,
    bundle: ca.toString("pem"),
    async issueSvid(text, options = {}) {
      const id = parseSpiffeId(text);
      if (id.trustDomain !== td.trustDomain) throw new Error(`${id.uri} is not in trust domain ${td.trustDomain}`);
      if (id.path === "") throw new Error("an X.509-SVID for a workload needs a path; the bare trust domain ID is reserved");
      if (issuance.admit) {
        const admitted = await issuance.admit(id);
        if (admitted !== true) throw new SvidAdmissionError(id.uri, admitted);
      }
      const issuedAt = clock.now();
      const notAfter = new Date(issuedAt + (options.ttlSeconds ?? 3600) * 1000);
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as unknown as KeyPair;
      const names: JsonGeneralName[] = [{ type: "url", value: id.uri }, ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value }))];
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: "O=SPIRE, C=US",
        issuer: ca.subject,
        notBefore: new Date(issuedAt - 60_000),
        notAfter,
        signingAlgorithm: ALG,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension(names, true),
          await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
        ],
      });
      return { id, cert: cert.toString("pem"), key: await keyPem(keys.privateKey), notAfter };
    },
  };
}
