/**
 * C2SP tlog-checkpoint: the signed tree head of a log as a signed note whose text is
 *   <origin>\n<tree size in decimal>\n<base64 root hash>\n[extension lines…]
 * The origin names the log uniquely; verifiers must check it, or a checkpoint of another log signed by the same
 * key would be accepted.
 */
import { type Hash, HASH_SIZE, toBase64 } from "./rfc6962.js";
import { NoteError, openNote, signNote, type OpenedNote, type Signer, type Verifier } from "./note.js";

export interface Checkpoint {
  origin: string;
  size: number;
  root: Hash;
  extensions: string[];
}

export function formatCheckpoint(cp: Checkpoint): string {
  return `${cp.origin}\n${cp.size}\n${toBase64(cp.root)}\n${cp.extensions.map((e) => `${e}\n`).join("")}`;
}

/** Parse a checkpoint body (the note text). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new NoteError("malformed", "checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new NoteError("malformed", "checkpoint needs origin, size and root lines");
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === "") throw new NoteError("malformed", "checkpoint origin line is empty");
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw new NoteError("malformed", `checkpoint size "${sizeLine}" is not a decimal without leading zeros`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new NoteError("malformed", `checkpoint size ${sizeLine} exceeds 2^53 - 1`);
  const root = Buffer.from(rootLine, "base64");
  if (root.length !== HASH_SIZE || toBase64(root) !== rootLine) throw new NoteError("malformed", `checkpoint root "${rootLine}" is not a base64 SHA-256 hash`);
  if (extensions.some((e) => e === "")) throw new NoteError("malformed", "checkpoint extension lines must not be empty");
  return { origin, size, root, extensions };
}

export function signCheckpoint(cp: Checkpoint, signers: readonly Signer[]): string {
  return signNote(formatCheckpoint(cp), signers);
}

export interface OpenedCheckpoint extends OpenedNote {
  checkpoint: Checkpoint;
}

/** Open a signed checkpoint: signature by one of `verifiers`, and (if given) the expected origin. */
export function openCheckpoint(note: Uint8Array | string, verifiers: readonly Verifier[], origin?: string): OpenedCheckpoint {
  const opened = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (origin !== undefined && checkpoint.origin !== origin) throw new NoteError("malformed", `checkpoint origin "${checkpoint.origin}" is not the expected "${origin}"`);
  return { ...opened, checkpoint };
}
