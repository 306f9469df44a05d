/**
 * Who may append, and what an audit event may say about who acted. A log configured with `submitters` (config.ts)
 * takes `POST /add` only from those SPIFFE IDs, read from the verified credential (the kit's mTLS peer, or its pod
 * sidecar's XFCC): never from the body. Entries stay the submitter's bytes (tlog-tiles entries are opaque); what the
 * log adds is a refusal: an entry that claims an actor (a JSON object with an `actor` member) must be an audit
 * event (audit/audit.ts: well-formed, in its canonical encoding) whose actor the verified submitter may name —
 * itself, or, for a submitter that speaks for the end users it authenticated (`actors: "principals"`, quota), a
 * principal that is not a workload. No submitter can name another workload as the actor of an event it appends.
 *
 * Where no mesh verifies peers (`meridian local`: one machine, loopback, no SPIRE), a submitter may also be named by
 * a JWT `scope` of its own: a bearer token the log's `server.auth.jwt` verifies and that carries that scope appends
 * as the submitter's SPIFFE ID — the same actor check, the same refusals. Only the issuer can mint such a token, so
 * the scope is as good as the SVID it stands in for; a token carrying two submitters' scopes names no one (403).
 */
import type { Identity } from "../kit/index.js";
import { AuditError, decodeAuditEvent, encodeAuditEvent } from "./audit/audit.js";

export interface Submitter {
  /** Its SPIFFE ID, as the verified credential carries it. */
  spiffe: string;
  /**
   * The actors its audit events may name: `self` (default) its own SPIFFE ID only; `principals` also the end users it
   * authenticated — any actor that is not a workload's name (quota: a tenant administrator's JWT subject).
   */
  actors?: "self" | "principals";
  /**
   * A JWT scope standing in for `spiffe` where there is no mesh (`meridian local`): a verified bearer token carrying it
   * appends as this submitter. Absent (the estate): only the verified peer's SPIFFE ID names it.
   */
  scope?: string;
}

/**
 * Which submitter the verified caller is (its peer's SPIFFE ID, or a token carrying one submitter's scope), or why it
 * is none. `submitters` with their SPIFFE IDs as parseSpiffeId spells them (`uri`), as the log's routes keep them.
 */
export function submitterOf(identity: Identity | undefined, submitters: readonly Submitter[]): { submitter: Submitter } | { refusal: EntryRefusal } {
  if (identity?.kind === "jwt") {
    const matched = submitters.filter((s) => s.scope !== undefined && identity.scopes.includes(s.scope));
    if (matched.length === 1) return { submitter: matched[0]! };
    const subject = `a JWT (subject ${identity.subject ?? "(none)"})`;
    if (matched.length > 1)
      return { refusal: { status: 403, error: "forbidden", detail: `${subject} carries the scopes of more than one submitter (${matched.map((s) => s.spiffe).join(", ")}): it names no one` } };
    const scopes = submitters.flatMap((s) => (s.scope === undefined ? [] : [s.scope]));
    return {
      refusal: {
        status: 403,
        error: "forbidden",
        detail: `${subject} is not one of the log's submitters: ${scopes.length ? `its token carries none of the scopes ${scopes.join(", ")}` : "they are named by SPIFFE ID only"}`,
      },
    };
  }
  const who = identity?.kind === "spiffe" ? identity.id.uri : undefined;
  const found = who === undefined ? undefined : submitters.find((s) => s.spiffe === who);
  if (found) return { submitter: found };
  return { refusal: { status: 403, error: "forbidden", detail: `${who ?? "a caller without an mTLS identity"} is not one of the log's submitters` } };
}

/** A refusal of an entry, with the status it answers. */
export interface EntryRefusal {
  status: 400 | 403;
  error: string;
  detail: string;
}

/** A workload's name (as quota keeps them apart: only an SVID speaks for a SPIFFE ID), in any letter case. */
const WORKLOAD = /^spiffe:/i;
/** What makes a name read as another to an auditor: controls, invisible format characters, separators other than a space. */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;

/**
 * Why a `principals` submitter may not name `actor` as an end user, or undefined: a workload's name, or anything an
 * auditor could read as one — a name that is not its own NFKC form (fullwidth letters, ligatures), that hides or pads
 * characters, or that is a workload's name percent-encoded.
 */
function principalRefusal(actor: string): string | undefined {
  if (WORKLOAD.test(actor)) return "a workload";
  if (actor !== actor.trim() || HIDDEN.test(actor) || actor.normalize("NFKC") !== actor) return "a name with hidden, padded or compatibility characters (an end user's name is plain text, in NFKC)";
  if (/^spiffe%3a/i.test(actor)) return "a workload's name, percent-encoded";
  return undefined;
}

/** Whether the entry opens as a JSON object: after JSON's whitespace and a UTF-8 byte order mark (which lax readers skip), a `{`. */
function opensObject(entry: Uint8Array): boolean {
  let i = 0;
  if (entry[0] === 0xef && entry[1] === 0xbb && entry[2] === 0xbf) i = 3;
  while (entry[i] === 0x20 || entry[i] === 0x09 || entry[i] === 0x0a || entry[i] === 0x0d) i++;
  return entry[i] === 0x7b;
}

/** Whether a JSON object entry claims an actor: the members JSON.parse sees (a repeated one counts once), a leading BOM skipped. */
function claimsActor(text: string): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch {
    return false;
  }
  return doc !== null && typeof doc === "object" && !Array.isArray(doc) && Object.hasOwn(doc, "actor");
}

/**
 * Why `submitter` (a verified SPIFFE ID, with its `actors`) may not append `entry`, or null. Entries that claim no
 * actor pass unread past their first byte unless they are JSON objects.
 */
export function entryRefusal(entry: Uint8Array, submitter: string, actors: Submitter["actors"]): EntryRefusal | null {
  if (!opensObject(entry)) return null;
  const bytes = Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength);
  if (!claimsActor(bytes.toString("utf8"))) return null;
  let event;
  try {
    event = decodeAuditEvent(entry);
  } catch (e) {
    if (e instanceof AuditError) return { status: 400, error: "malformed audit event", detail: `an entry with an actor must be an audit event: ${e.message}` };
    throw e;
  }
  if (!encodeAuditEvent(event).equals(bytes))
    return { status: 400, error: "non-canonical audit event", detail: "an audit event must be in its canonical encoding (encodeAuditEvent: fixed field order, detail keys sorted, each member once)" };
  if (event.actor === submitter) return null;
  const not = actors === "principals" ? principalRefusal(event.actor) : undefined;
  if (actors === "principals" && not === undefined) return null;
  const may = actors === "principals" ? `itself or an end user it authenticated (not ${not})` : "only itself";
  return {
    status: 403,
    error: "actor is not the submitter",
    detail: `${submitter} may not append an audit event naming ${JSON.stringify(event.actor)} as its actor: its events may name ${may}`,
  };
}
