/**
 * X.509-SVIDs (SPIFFE X509-SVID spec): reading the SPIFFE ID out of a certificate. A leaf SVID carries
 * exactly one URI SAN, the SPIFFE ID, and is not a CA; anything else is not an SVID and identifies no one.
 * The certificate is parsed with @peculiar/x509, not by splitting Node's SAN string.
 */
import { SpiffeIdError, parseSpiffeId, type SpiffeId } from "./spiffe-id.js";
import { x509 as load } from "./x509.js";

/** The SPIFFE ID of a DER-encoded leaf certificate, or a SpiffeIdError saying why it is not an SVID. */
export function svidSpiffeId(der: Uint8Array): SpiffeId {
  const x509 = load();
  const cert = new x509.X509Certificate(toArrayBuffer(der));
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (basic?.ca) throw new SpiffeIdError("certificate is a CA, not a leaf X.509-SVID");
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = (san?.names.toJSON() ?? []).filter((n) => n.type === "url").map((n) => n.value);
  if (uris.length !== 1) throw new SpiffeIdError(`an X.509-SVID has exactly one URI SAN; this certificate has ${uris.length}`);
  return parseSpiffeId(uris[0] as string);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
