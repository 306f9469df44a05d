/**
 * Transferable evidence against a DKG dealer (dkg-http.ts collects it, `meridian tbls evidence` checks it). Every DKG
 * message is signed by its sender over (session, round, sender, recipient, payload) — `signedBytes` — so a dealer's
 * own messages can convict it before anyone who knows the roster (the peers' verifier keys, which fix the session):
 *
 *   equivocation  two round-1 messages signed by the dealer in this session with different commitment vectors
 *                 (what the echo round detects; the participants' echoes carry the round-1 messages they received)
 *   bad-share     a round-1 message and a reveal, both signed by the dealer, where the share it revealed for a
 *                 complainer fails Feldman's check against those commitments
 *
 * What is not provable this way: a dealer that stays silent (no message to show), or one that sends a bad share
 * privately and reveals a good one when complained against (the protocol corrects that; nothing to punish). An
 * honest dealer never signs two vectors nor a failing reveal, so evidence against it cannot be made.
 */
import { commitmentDigest, shareMatches } from "./dkg.js";
import { scalarFromBytes } from "./shamir.js";
import { ThresholdError } from "./threshold.js";

/** One signed DKG message as served: its round, sender, recipient (0: everyone), payload text and base64 signature. */
export interface SignedDkgMessage {
  round: string;
  from: number;
  to: number;
  payload: string;
  sig: string;
}

export type DkgEvidence =
  | { v: "meridian-dkg-evidence/1"; kind: "equivocation"; t: number; n: number; session: string; dealer: number; messages: [SignedDkgMessage, SignedDkgMessage] }
  | { v: "meridian-dkg-evidence/1"; kind: "bad-share"; t: number; n: number; session: string; dealer: number; complainer: number; round1: SignedDkgMessage; reveal: SignedDkgMessage };

export type EvidenceVerdict = { guilty: true; dealer: number; reason: string } | { guilty: false; reason: string };

/** What checking a signature needs: the dealer's verifier (a signed-note key), and the session's signed bytes. */
export interface EvidenceContext {
  /** SHA-256 session of the run (dkgSession over t, n and the roster), hex. */
  session: string;
  verifier(dealer: number): { verify(text: Uint8Array, sig: Uint8Array): boolean } | undefined;
  signedBytes(session: Uint8Array, round: string, from: number, to: number, payload: string): Uint8Array;
}

const fail = (reason: string): never => {
  throw new ThresholdError(reason);
};

function commitmentsOf(m: SignedDkgMessage, ev: DkgEvidence, ctx: EvidenceContext): Uint8Array[] {
  const body = payloadOf(m, "round1", ev, ctx) as { index?: unknown; t?: unknown; n?: unknown; commitments?: unknown };
  if (body.index !== ev.dealer || body.t !== ev.t || body.n !== ev.n) fail(`the round-1 message to ${m.to} is not dealer ${ev.dealer}'s for ${ev.t}-of-${ev.n}`);
  if (!Array.isArray(body.commitments) || body.commitments.some((c) => typeof c !== "string" || !/^[0-9a-f]{192}$/.test(c))) fail(`the round-1 message to ${m.to} has no commitment vector`);
  return (body.commitments as string[]).map((c) => Uint8Array.from(Buffer.from(c, "hex")));
}

/** The payload of a message the dealer signed in this session and round (throws naming what does not check out). */
function payloadOf(m: SignedDkgMessage, round: string, ev: DkgEvidence, ctx: EvidenceContext): unknown {
  if (typeof m !== "object" || m === null) fail(`a ${round} message is missing`);
  if (m.round !== round || m.from !== ev.dealer) fail(`a message is ${JSON.stringify(m.round)} from ${m.from}, not ${round} from dealer ${ev.dealer}`);
  if (typeof m.payload !== "string" || typeof m.sig !== "string" || !Number.isInteger(m.to)) fail(`the ${round} message is malformed`);
  const v = ctx.verifier(ev.dealer) ?? fail(`dealer ${ev.dealer} is not in the roster`);
  if (!v.verify(ctx.signedBytes(Buffer.from(ctx.session, "hex"), round, m.from, m.to, m.payload), Buffer.from(m.sig, "base64")))
    fail(`the ${round} message to ${m.to} is not signed by dealer ${ev.dealer} in this session`);
  try {
    return JSON.parse(m.payload) as unknown;
  } catch {
    return fail(`the ${round} message's payload is not JSON`);
  }
}

/** Check evidence against the roster: the dealer convicted (and of what), or why the evidence proves nothing. */
export function verifyDkgEvidence(ev: DkgEvidence, ctx: EvidenceContext): EvidenceVerdict {
  try {
    if (typeof ev !== "object" || ev === null || ev.v !== "meridian-dkg-evidence/1") fail("not DKG evidence (meridian-dkg-evidence/1)");
    if (ev.session !== ctx.session) fail(`the evidence is from session ${String(ev.session).slice(0, 16)}…, not this roster's ${ctx.session.slice(0, 16)}…`);
    if (ev.kind === "equivocation") {
      if (!Array.isArray(ev.messages) || ev.messages.length !== 2) fail("equivocation evidence needs two round-1 messages");
      const [a, b] = ev.messages.map((m) => commitmentDigest(commitmentsOf(m, ev, ctx)));
      if (a === b) fail(`the two round-1 messages commit to the same vector: no equivocation`);
      return { guilty: true, dealer: ev.dealer, reason: `dealer ${ev.dealer} signed two different commitment vectors in round 1 (to participants ${ev.messages[0].to} and ${ev.messages[1].to})` };
    }
    if (ev.kind === "bad-share") {
      const commitments = commitmentsOf(ev.round1, ev, ctx);
      const body = payloadOf(ev.reveal, "reveals", ev, ctx) as { index?: unknown; reveals?: Record<string, unknown> };
      const hex = body.index === ev.dealer && typeof body.reveals === "object" && body.reveals !== null ? body.reveals[String(ev.complainer)] : undefined;
      if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex)) fail(`dealer ${ev.dealer}'s reveal has no share for participant ${ev.complainer}`);
      if (shareMatches(commitments, ev.complainer, scalarFromBytes(Buffer.from(hex as string, "hex"))))
        fail(`the share dealer ${ev.dealer} revealed for participant ${ev.complainer} matches its commitments`);
      return { guilty: true, dealer: ev.dealer, reason: `dealer ${ev.dealer} revealed (signed) a share for participant ${ev.complainer} that fails its signed commitments` };
    }
    return fail(`unknown evidence kind ${JSON.stringify((ev as { kind?: unknown }).kind)}`);
  } catch (e) {
    if (e instanceof ThresholdError || e instanceof TypeError) return { guilty: false, reason: e.message };
    throw e;
  }
}
