/**
 * A witness quorum that signs a checkpoint as ONE threshold BLS signature (runtime/tbls): every witness holds a
 * share of a group key (from `meridian tbls dkg`), and after its usual checks (log signature, consistency with what
 * it cosigned before) answers add-checkpoint with its cosignature line plus a partial-signature line. The log (the
 * combiner) checks each partial against the signer's public key share — a forged one is named, by share index and
 * witness — and combines t valid ones with Lagrange coefficients into the signature of the group secret, which it
 * attaches to the checkpoint as an ordinary signed-note line. A client then needs only the group key: one 48-byte
 * signature, one pairing check, whatever the committee size, and fewer than t partials combine to nothing it accepts.
 *
 * Note lines (C2SP signed-note, algorithm 0xff "not registered here", so the key ID hashes a type identifier):
 *   group    — <name> base64(keyID ‖ 48-byte G1 signature)          keyID over "meridian-tbls-checkpoint/v1" ‖ group key
 *   partial  — <name> base64(partialKeyID ‖ uint16 share index ‖ 48-byte G1 partial signature)
 * The partial line has its own key ID (over "meridian-tbls-partial/v1" and the name alone, so a witness holding a
 * share of the wrong group still sends a recognisable partial and is named as its forger), and a verifier holding
 * the group key never mistakes a partial for the group signature. The signed message is "meridian-tbls-checkpoint/v1\n" ‖ the checkpoint text (domain-separated from
 * every other use of the same shares).
 */
import { combine, partialSign, ThresholdError, verifyGroupSignature, verifyPartials, verifyShare, type Group, type PartialSignature, type Share } from "../../tbls/index.js";
import { openCheckpoint, type Checkpoint } from "../checkpoint.js";
import { keyId, NoteError, openNote, parseSignedNote, type Verifier } from "../note.js";

const ALG_UNREGISTERED = 0xff;
const GROUP_TYPE = "meridian-tbls-checkpoint/v1";
const PARTIAL_TYPE = "meridian-tbls-partial/v1";
const SIG_SIZE = 48;

/** A threshold group as the log and its clients know it: the public part of a DKG (group.json) and a key name. */
export interface ThresholdGroup extends Group {
  name: string;
}

const typedKey = (type: string, groupKey: Uint8Array) => Buffer.concat([Buffer.from(`${type}\n`), groupKey]);
const groupKeyId = (g: ThresholdGroup) => keyId(g.name, ALG_UNREGISTERED, typedKey(GROUP_TYPE, g.groupPublicKey));
const partialKeyId = (g: { name: string }) => keyId(g.name, ALG_UNREGISTERED, Buffer.from(`${PARTIAL_TYPE}\n`));

/** What the quorum signs: the checkpoint text (note text, up to the blank line) under this scheme's tag. */
export function thresholdMessage(text: string): Uint8Array {
  return Buffer.from(`${GROUP_TYPE}\n${text}`);
}

function sigLine(name: string, id: number, payload: Uint8Array): string {
  const b = Buffer.alloc(4 + payload.length);
  b.writeUInt32BE(id >>> 0, 0);
  b.set(payload, 4);
  return `— ${name} ${b.toString("base64")}\n`;
}

/** The note verifier of the group key: it accepts exactly the combined signature. */
function thresholdVerifier(g: ThresholdGroup): Verifier {
  return { name: g.name, keyId: groupKeyId(g), verify: (text, sig) => sig.length === SIG_SIZE && verifyGroupSignature(thresholdMessage(Buffer.from(text).toString()), sig, g.groupPublicKey) };
}

/** Check a witness's share against the group's commitments before it signs anything with it. */
export function checkShare(g: ThresholdGroup, share: Share): void {
  if (share.index > g.n) throw new ThresholdError(`share index ${share.index} is beyond the group's n = ${g.n}`);
  if (!verifyShare(g.commitments, share)) throw new ThresholdError(`share ${share.index} does not lie on the group's committed polynomial (a share of another group?)`);
}

/** The witness side: its partial-signature line for a checkpoint text. */
export function partialLine(g: ThresholdGroup, share: Share, text: string): string {
  const p = partialSign(thresholdMessage(text), share);
  const payload = Buffer.alloc(2 + SIG_SIZE);
  payload.writeUInt16BE(p.index, 0);
  payload.set(p.signature, 2);
  return sigLine(g.name, partialKeyId(g), payload);
}

/** The partial signatures among signature lines (a witness's answer), unverified; other or malformed lines are ignored. */
export function parsePartials(g: ThresholdGroup, lines: string): PartialSignature[] {
  const id = partialKeyId(g);
  return lines
    .split("\n")
    .filter((l) => l.startsWith(`— ${g.name} `))
    .flatMap((l) => {
      try {
        return parseSignedNote(`x\n\n${l}\n`).lines;
      } catch {
        return [];
      }
    })
    .filter((l) => l.keyId === id && l.sig.length === 2 + SIG_SIZE)
    .map((l) => ({ index: l.sig.readUInt16BE(0), signature: Uint8Array.from(l.sig.subarray(2)) }));
}

export class ThresholdCombineError extends ThresholdError {
  constructor(
    message: string,
    /** Positions (in the partials given) of those that did not verify. */
    readonly forged: number[],
  ) {
    super(message);
  }
}

/**
 * The combiner: check every partial against its signer's public key share, then combine t valid ones into the
 * group's signature line. Forged partials are reported (by position in `partials`, so the caller can name who sent
 * each) and left out; fewer than t valid ones is a ThresholdCombineError naming them.
 */
export function combineCheckpoint(g: ThresholdGroup, text: string, partials: readonly PartialSignature[]): { line: string; signers: number[]; forged: number[] } {
  const msg = thresholdMessage(text);
  const forged: number[] = [];
  const valid = new Map<number, PartialSignature>();
  // Those of an index in the group, checked together (one pairing check when all verify; verifyPartials).
  const known = partials.flatMap((p, k) => (p.index >= 1 && p.index <= g.n ? [k] : []));
  const verified = verifyPartials(
    msg,
    g.commitments,
    known.map((k) => partials[k]!),
  );
  const ok = new Set(known.filter((_, j) => verified[j]));
  partials.forEach((p, k) => {
    if (!ok.has(k)) forged.push(k);
    else valid.set(p.index, p);
  });
  const shares = forged.map((k) => partials[k]!.index).join(", ");
  const why = forged.length ? `; the partial signature${forged.length > 1 ? "s" : ""} of share ${shares} did not verify` : "";
  if (valid.size < g.t) throw new ThresholdCombineError(`${valid.size} valid partial signatures, the group needs ${g.t} of ${g.n}${why}`, forged);
  const use = [...valid.values()].slice(0, g.t);
  return { line: sigLine(g.name, groupKeyId(g), combine(g.t, use)), signers: use.map((p) => p.index), forged };
}

/** Open a checkpoint signed by the log and carrying a valid threshold signature of the group. */
export function verifyThresholdCheckpoint(note: string, logVerifiers: readonly Verifier[], g: ThresholdGroup, origin?: string): Checkpoint {
  const { checkpoint } = openCheckpoint(note, logVerifiers, origin);
  try {
    openNote(note, [thresholdVerifier(g)]);
  } catch (e) {
    if (!(e instanceof NoteError)) throw e;
    if (e.kind === "unverified") throw new NoteError("unverified", `the checkpoint carries no threshold signature of ${g.name}`);
    if (e.kind === "invalid-signature") throw new NoteError("invalid-signature", `the threshold signature of ${g.name} does not verify under the group key`);
    throw e;
  }
  return checkpoint;
}
