/**
 * C2SP tlog-proof: an offline, self-contained proof that an entry is in a log:
 *   c2sp.org/tlog-proof@v1\n[extra <base64>\n]index <n>\n<base64 hash>\n…\n\n<signed checkpoint>
 * It verifies without contacting the log: the checkpoint signature (and origin), then the inclusion proof of
 * the entry's leaf hash against the checkpoint's root.
 */
import { openCheckpoint, type Checkpoint } from "../checkpoint.js";
import type { Verifier } from "../note.js";
import { type Hash, HASH_SIZE, toBase64 } from "../rfc6962.js";
import { ProofError, verifyInclusion } from "./verify.js";

const HEADER = "c2sp.org/tlog-proof@v1";

export function formatTlogProof(index: number, proof: readonly Hash[], checkpointNote: string, extra?: Uint8Array): string {
  const lines = [HEADER];
  if (extra) lines.push(`extra ${Buffer.from(extra).toString("base64")}`);
  lines.push(`index ${index}`, ...proof.map(toBase64));
  return `${lines.join("\n")}\n\n${checkpointNote}`;
}

export interface ParsedTlogProof {
  index: number;
  proof: Buffer[];
  checkpointNote: string;
  extra: Buffer | null;
}

export function parseTlogProof(text: string): ParsedTlogProof {
  const split = text.indexOf("\n\n");
  if (split < 0) throw new ProofError("tlog-proof has no blank line before its checkpoint");
  const lines = text.slice(0, split).split("\n");
  if (lines.shift() !== HEADER) throw new ProofError(`tlog-proof must start with "${HEADER}"`);
  let extra: Buffer | null = null;
  if (lines[0]?.startsWith("extra ")) extra = Buffer.from(lines.shift()!.slice(6), "base64");
  const idx = /^index (0|[1-9][0-9]*)$/.exec(lines.shift() ?? "");
  if (!idx || !Number.isSafeInteger(Number(idx[1]))) throw new ProofError("tlog-proof index line is missing or not a decimal");
  const proof = lines.map((l, i) => {
    const h = Buffer.from(l, "base64");
    if (h.length !== HASH_SIZE || toBase64(h) !== l) throw new ProofError(`tlog-proof hash ${i} is not a base64 SHA-256 hash`);
    return h;
  });
  return { index: Number(idx[1]), proof, checkpointNote: text.slice(split + 2), extra };
}

/** Verify a tlog-proof for an entry's leaf hash; returns the checkpoint it was proven against. */
export function verifyTlogProof(text: string, leafHash: Hash, verifiers: readonly Verifier[], origin?: string): { index: number; checkpoint: Checkpoint } {
  const p = parseTlogProof(text);
  const { checkpoint } = openCheckpoint(p.checkpointNote, verifiers, origin);
  verifyInclusion(p.index, checkpoint.size, leafHash, p.proof, checkpoint.root);
  return { index: p.index, checkpoint };
}
