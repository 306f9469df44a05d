/**
 * The caller's identity as the pod's own Istio sidecar reports it in `x-forwarded-client-cert` (XFCC), for a
 * service that sits behind that sidecar (`server.identity: {xfcc: "istio-sidecar", spiffeId}`) and so sees
 * plaintext from it instead of the caller's certificate.
 *
 * What the header is worth. Istio programs a sidecar's inbound HTTP listener with Envoy's
 * `forward_client_cert_details: APPEND_FORWARD` and `set_current_client_cert_details {subject, uri, dns}`
 * (outbound listeners SANITIZE; gateways SANITIZE_SET). On an mTLS connection the sidecar appends one element
 * for the peer it verified, `By=<its own URI SAN>;Hash=<peer cert sha256>;Subject="…";URI=<peer URI SAN>`, after
 * whatever the request already carried; on a plaintext connection it forwards the header untouched. So:
 *   - only the LAST element is the sidecar's; everything before it is the caller's to write;
 *   - the last element is the sidecar's only if every connection reaching the app came through the sidecar
 *     over mTLS: STRICT PeerAuthentication for the workload, no inbound port excluded from capture, no host
 *     network, and NetworkPolicy admitting only meshed peers. The plan refuses `xfcc` trust unless all hold
 *     (components/pki/xfcc-trust.ts); the kit cannot see them, it checks what it can:
 *   - the last element's `By` must be this pod's own SPIFFE ID (the sidecar's SVID), so an element written by a
 *     caller for some other hop, or a header that reached the app without our sidecar appending, is refused;
 *   - exactly one `URI` (one SPIFFE ID) in that element, and the header must parse as a whole: a caller's
 *     unbalanced quote swallows the sidecar's element and makes the header malformed, never a different peer;
 *   - a single XFCC header line (a second line is not something the sidecar writes).
 * Format (Envoy): elements separated by `,`, key=value pairs by `;`, a value double-quoted when it holds
 * `,;=`, with `"` escaped as `\"` inside. Keys: By, Hash, Cert, Chain, Subject, URI, DNS (case-insensitive).
 */
import type { IncomingMessage } from "node:http";
import { parseSpiffeId, SpiffeIdError, type SpiffeId } from "../identity/index.js";

const XFCC_HEADER = "x-forwarded-client-cert";
const KEYS = new Set(["by", "hash", "cert", "chain", "subject", "uri", "dns"]);
/** A sane bound: Istio's element is a few hundred bytes (no Cert/Chain); the kit's header limit caps it anyway. */
const MAX_ELEMENTS = 16;

export class XfccError extends Error {
  override name = "XfccError";
}

export type XfccElement = Record<string, string[]>;

/** Parse a whole XFCC header value into its elements; throws XfccError naming what is wrong. */
export function parseXfcc(value: string): XfccElement[] {
  const elements: XfccElement[] = [];
  let element: XfccElement = {};
  let key = "";
  let val = "";
  let inKey = true;
  let quoted = false;
  let wasQuoted = false;
  let i = 0;
  const endPair = () => {
    const k = key.trim().toLowerCase();
    if (k === "") throw new XfccError(`empty key at offset ${i}`);
    if (!KEYS.has(k)) throw new XfccError(`unknown key ${JSON.stringify(key.trim())}`);
    if (inKey) throw new XfccError(`key ${JSON.stringify(key.trim())} has no value`);
    if (!wasQuoted && val === "") throw new XfccError(`key ${JSON.stringify(key.trim())} has an empty value`);
    (element[k] ??= []).push(val);
    key = "";
    val = "";
    inKey = true;
    wasQuoted = false;
  };
  const endElement = () => {
    endPair();
    elements.push(element);
    if (elements.length > MAX_ELEMENTS) throw new XfccError(`more than ${MAX_ELEMENTS} elements`);
    element = {};
  };
  for (; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      if (c === "\\") {
        if (i + 1 >= value.length) throw new XfccError("a quoted value ends in a lone backslash");
        val += value[++i];
      } else if (c === '"') {
        quoted = false;
        const next = value[i + 1];
        if (next !== undefined && next !== ";" && next !== ",") throw new XfccError(`text after a closing quote at offset ${i + 1}`);
      } else val += c;
      continue;
    }
    if (inKey) {
      if (c === "=") inKey = false;
      else if (c === ";" || c === "," || c === '"' || c === "\\") throw new XfccError(`unexpected ${JSON.stringify(c)} in a key at offset ${i}`);
      else key += c;
      continue;
    }
    if (c === '"') {
      if (val !== "" || wasQuoted) throw new XfccError(`a quote inside an unquoted value at offset ${i}`);
      quoted = true;
      wasQuoted = true;
    } else if (c === ";") endPair();
    else if (c === ",") endElement();
    else if (c === "=" || c === "\\") throw new XfccError(`unexpected ${JSON.stringify(c)} in an unquoted value at offset ${i}`);
    else val += c;
  }
  if (quoted) throw new XfccError("an unterminated quoted value");
  endElement();
  return elements;
}

/**
 * The peer the pod's sidecar verified, from the request's XFCC header; undefined when there is no header (a
 * probe from the sidecar's agent, say). Throws XfccError when the header is present but not the sidecar's.
 * Any header carrier will do: a gRPC server passes the call's metadata in this shape (runtime/ratelimit).
 */
export function xfccPeer(req: Pick<IncomingMessage, "rawHeaders" | "headers">, self: SpiffeId): SpiffeId | undefined {
  let lines = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === XFCC_HEADER) lines++;
  if (lines === 0) return undefined;
  if (lines > 1) throw new XfccError(`${lines} ${XFCC_HEADER} headers; the sidecar writes one`);
  const value = req.headers[XFCC_HEADER];
  if (typeof value !== "string") throw new XfccError("not a single header value");
  const elements = parseXfcc(value);
  const last = elements[elements.length - 1]!;
  const by = last["by"] ?? [];
  if (by.length !== 1) throw new XfccError(`the last element must carry exactly one By (got ${by.length}): it is not this pod's sidecar's`);
  if (spiffeUri(by[0]!, "By") !== self.uri) throw new XfccError(`the last element's By=${by[0]} is not this pod's sidecar (${self.uri})`);
  const uris = last["uri"] ?? [];
  if (uris.length === 0) throw new XfccError("the last element names no URI: the peer presented no SPIFFE ID");
  if (uris.length > 1) throw new XfccError(`the last element names ${uris.length} URIs; an X.509-SVID has exactly one`);
  return parseSpiffeIdOr(uris[0]!, "URI");
}

function spiffeUri(text: string, key: string): string {
  return parseSpiffeIdOr(text, key).uri;
}

function parseSpiffeIdOr(text: string, key: string): SpiffeId {
  try {
    return parseSpiffeId(text);
  } catch (e) {
    if (e instanceof SpiffeIdError) throw new XfccError(`${key}: ${e.message}`);
    throw e;
  }
}
