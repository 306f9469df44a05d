/**
 * The offline root and the intermediates it signs (RFC 5280). The root's key lives only on the operator's
 * offline machine: `meridian pki root` mints it, `meridian pki csr` makes a region's intermediate key and CSR,
 * and `meridian pki sign` signs that CSR there. Only the intermediate (with its key) and the root *certificate*
 * ever reach a cluster. Each intermediate is
 *   - path-constrained (basicConstraints pathLenConstraint): one CA below it (SPIRE's server CA), no deeper;
 *   - name-constrained (nameConstraints, critical): permitted URI hosts (the SPIFFE trust domain) and DNS
 *     subtrees only, so a stolen intermediate cannot mint an identity for another trust domain or a public name.
 * Built with @peculiar/x509 on Node's WebCrypto; time is passed in, never read.
 */
import { webcrypto } from "node:crypto";
import "reflect-metadata"; // tsyringe (used by @peculiar/x509) needs the Reflect metadata API
import * as x509 from "@peculiar/x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from "@peculiar/asn1-x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"];
type Key = KeyPair["privateKey"];

/** CAs use P-384 (the intermediates cert-manager used to mint did too); SPIRE's own keys stay P-256. */
const CA_ALG = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" };
const LEAF_ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

/** A CA certificate and its PKCS#8 key, both PEM. */
export interface CaMaterial {
  cert: string;
  key: string;
}

/** What an intermediate may name: URI hosts (SPIFFE trust domains) and DNS subtrees (RFC 5280 §4.2.1.10). */
export interface NameConstraintSet {
  permittedUriHosts: string[];
  permittedDnsDomains: string[];
}

export class OfflineCaError extends Error {
  override name = "OfflineCaError";
}

const serial = () =>
  Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "1");

async function keyPem(key: Key): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", key as unknown as webcrypto.CryptoKey);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

async function importKey(pem: string, alg: typeof CA_ALG | typeof LEAF_ALG): Promise<Key> {
  const der = x509.PemConverter.decodeFirst(pem);
  return (await webcrypto.subtle.importKey("pkcs8", der, alg, false, ["sign"])) as unknown as Key;
}

/** A CA's certificate, signing key and the algorithm matching its curve (P-384 offline CAs, P-256 SPIRE CAs). */
async function signer(ca: CaMaterial): Promise<{ cert: x509.X509Certificate; alg: typeof CA_ALG | typeof LEAF_ALG; key: Key }> {
  const cert = new x509.X509Certificate(ca.cert);
  const alg = (cert.publicKey.algorithm as EcKeyAlgorithm).namedCurve === "P-384" ? CA_ALG : LEAF_ALG;
  return { cert, alg, key: await importKey(ca.key, alg) };
}

/** The nameConstraints extension, critical as RFC 5280 requires. */
function nameConstraintsExtension(c: NameConstraintSet): x509.Extension {
  const subtrees = [
    ...c.permittedUriHosts.map((host) => new GeneralSubtree({ base: new GeneralName({ uniformResourceIdentifier: host }) })),
    ...c.permittedDnsDomains.map((dns) => new GeneralSubtree({ base: new GeneralName({ dNSName: dns }) })),
  ];
  if (subtrees.length === 0) throw new OfflineCaError("an intermediate needs at least one permitted name");
  const value = AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) }));
  return new x509.Extension(id_ce_nameConstraints, true, value);
}

/** A new offline root: self-signed, CA, no path length limit below its intermediates' own. */
export async function createOfflineRoot(subject: string, notBefore: Date, notAfter: Date): Promise<CaMaterial> {
  const keys = (await webcrypto.subtle.generateKey(CA_ALG, true, ["sign", "verify"])) as unknown as KeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subject,
    notBefore,
    notAfter,
    signingAlgorithm: CA_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** A region's intermediate key and the PKCS#10 request the offline root signs. */
export async function createIntermediateCsr(subject: string): Promise<{ csr: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(CA_ALG, true, ["sign", "verify"])) as unknown as KeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: CA_ALG });
  return { csr: csr.toString("pem"), key: await keyPem(keys.privateKey) };
}

export interface SignIntermediateOptions {
  root: CaMaterial;
  csr: string;
  notBefore: Date;
  notAfter: Date;
  /** CAs allowed below the intermediate (1: SPIRE's server CA, which signs only leaves). */
  pathLength: number;
  constraints: NameConstraintSet;
}

/**
 * Sign a CSR as a name- and path-constrained intermediate. The CSR's own signature must verify (the requester
 * holds the key), the validity must sit inside the root's, and only the CSR's subject and key are taken from it:
 * every extension comes from here, so a CSR asking for more than the constraints gets nothing more.
 * Returns the intermediate followed by the root (the chain a cert-manager CA issuer's tls.crt carries).
 */
export async function signIntermediate(o: SignIntermediateOptions): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(o.csr);
  if (!(await csr.verify())) throw new OfflineCaError("the CSR's signature does not verify: it was not made with the key it carries");
  const root = new x509.X509Certificate(o.root.cert);
  if (o.notBefore < root.notBefore || o.notAfter > root.notAfter) {
    throw new OfflineCaError(`validity ${o.notBefore.toISOString()}..${o.notAfter.toISOString()} must lie within the root's ${root.notBefore.toISOString()}..${root.notAfter.toISOString()}`);
  }
  if (!(o.notBefore < o.notAfter)) throw new OfflineCaError("notBefore must precede notAfter");
  if (!Number.isInteger(o.pathLength) || o.pathLength < 0) throw new OfflineCaError(`pathLength must be a whole number ≥ 0, got ${o.pathLength}`);
  const { alg, key: signingKey } = await signer(o.root);
  const rootKeyId = root.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: csr.subject,
    issuer: root.subject,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    signingAlgorithm: alg,
    publicKey: csr.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, o.pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      nameConstraintsExtension(o.constraints),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      ...(rootKeyId ? [new x509.AuthorityKeyIdentifierExtension(rootKeyId)] : []),
    ],
  });
  return `${cert.toString("pem")}\n${root.toString("pem")}\n`;
}

/**
 * A leaf certificate from a CA: what SPIRE's server CA (or anyone holding a CA key) would mint. Tests use it to
 * show that constraints bind: a leaf outside the permitted names fails verification however it was signed.
 */
export async function issueLeaf(ca: CaMaterial, o: { uri?: string; dnsNames?: string[]; notBefore: Date; notAfter: Date }): Promise<CaMaterial> {
  const { cert: issuer, alg, key: signingKey } = await signer(ca);
  const keys = (await webcrypto.subtle.generateKey(LEAF_ALG, true, ["sign", "verify"])) as unknown as KeyPair;
  const names: x509.JsonGeneralName[] = [...(o.uri ? [{ type: "url" as const, value: o.uri }] : []), ...(o.dnsNames ?? []).map((value) => ({ type: "dns" as const, value }))];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "O=SPIRE, C=US",
    issuer: issuer.subject,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names, true),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** A CA signed by `parent` (P-256 key, like SPIRE's server CA): for tests of the chain below an intermediate. */
export async function issueSubordinateCa(parent: CaMaterial, subject: string, notBefore: Date, notAfter: Date, uri?: string): Promise<CaMaterial> {
  const { cert: issuer, alg, key: signingKey } = await signer(parent);
  const keys = (await webcrypto.subtle.generateKey(LEAF_ALG, true, ["sign", "verify"])) as unknown as KeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer.subject,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ...(uri ? [new x509.SubjectAlternativeNameExtension([{ type: "url", value: uri }])] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** The facts an operator checks before installing an intermediate. */
export interface CaDescription {
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  pathLength: number | undefined;
  nameConstraints: NameConstraintSet | undefined;
}

export function describeCa(pem: string): CaDescription {
  const cert = new x509.X509Certificate(pem);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  const nc = cert.getExtension(id_ce_nameConstraints);
  let nameConstraints: NameConstraintSet | undefined;
  if (nc) {
    const parsed = AsnConvert.parse(nc.value, NameConstraints);
    const permitted = [...(parsed.permittedSubtrees ?? [])].map((s) => s.base);
    nameConstraints = {
      permittedUriHosts: permitted.flatMap((g) => (g.uniformResourceIdentifier ? [g.uniformResourceIdentifier] : [])),
      permittedDnsDomains: permitted.flatMap((g) => (g.dNSName ? [g.dNSName] : [])),
    };
  }
  return { subject: cert.subject, issuer: cert.issuer, notBefore: cert.notBefore, notAfter: cert.notAfter, isCa: basic?.ca ?? false, pathLength: basic?.pathLength, nameConstraints };
}
