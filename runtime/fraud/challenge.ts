/**
 * What every machine's single-step fraud proof shares (transitions.ts for balances, escrow-log.ts for the escrow's
 * ledger): a log entry (pre state root, tx, post state root) and its bytes, an entry with its inclusion proof under a
 * signed checkpoint, opening a challenge (the checkpoint, the entry's inclusion, the chain of roots), re-executing
 * the one step on the touched leaves alone, and refusing a proof whose inputs do not hold.
 */
import { hashEquals, leafHash, newVerifier, openCheckpoint, SparseMerkleTree, verifyInclusion, type Hash, type MerkleTree } from "../prooflog/index.js";

export interface Entry {
  pre: Hash;
  tx: unknown; // what the sequencer logged: a Tx if it is honest, anything otherwise
  post: Hash;
}

export class FraudInputError extends Error {
  override name = "FraudInputError";
}

/** Root of the empty state (of the balances' 256-level tree; the escrow's compact tree has its own: escrow-log.ts). */
export const EMPTY_STATE_ROOT: Hash = new SparseMerkleTree().root();

const hash32 = Buffer.alloc(32);
/** A hash (any bytes) in hex; a 32-byte one goes through one reused buffer (no Buffer made, no view of `b.buffer`). */
export const hex = (b: Uint8Array) => {
  if (b.length !== 32) return Buffer.from(b).toString("hex");
  hash32.set(b);
  return hash32.toString("hex");
};
export const unhex = (s: unknown, what: string): Buffer => {
  if (typeof s !== "string" || !/^([0-9a-f]{64})$/.test(s)) throw new FraudInputError(`${what} is not a 32-byte lower-case hex hash`);
  return Buffer.from(s, "hex");
};

/** Canonical bytes of a log entry (what the log's leaf hash commits). */
export function encodeEntry(e: Entry): Buffer {
  // JSON.stringify({ pre, tx, post }) with the two hex strings (nothing to escape) written in place; a tx JSON leaves
  // out (undefined, a function: only a faulty escrow's) goes through the whole object.
  const tx = JSON.stringify(e.tx) as string | undefined;
  if (tx === undefined) return Buffer.from(JSON.stringify({ pre: hex(e.pre), tx: e.tx, post: hex(e.post) }), "utf8");
  return Buffer.from(`{"pre":"${hex(e.pre)}","tx":${tx},"post":"${hex(e.post)}"}`, "utf8");
}

export function decodeEntry(bytes: Uint8Array): Entry {
  let j: unknown;
  try {
    j = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new FraudInputError("entry is not JSON");
  }
  if (typeof j !== "object" || j === null) throw new FraudInputError("entry is not an object");
  const o = j as Record<string, unknown>;
  return { pre: unhex(o.pre, "entry pre root"), tx: o.tx, post: unhex(o.post, "entry post root") };
}

/** One logged entry with its inclusion proof under the checkpoint. */
export interface LoggedEntry {
  index: number;
  entry: string; // base64 of the entry bytes
  inclusion: string[]; // base64 hashes
}

export type FraudVerdict = { fraud: true; index: number; reason: string } | { fraud: false; reason: string };

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

export function logged(tree: MerkleTree, entries: readonly Buffer[], index: number, size: number): LoggedEntry {
  return { index, entry: b64(entries[index]!), inclusion: tree.inclusionProof(index, size).map(b64) };
}

function openLogged(l: LoggedEntry, size: number, root: Hash, what: string): Entry | string {
  if (!Number.isSafeInteger(l.index) || l.index < 0 || l.index >= size) throw new FraudInputError(`${what} index ${l.index} is not in the checkpoint's log of ${size}`);
  const bytes = Buffer.from(l.entry, "base64");
  try {
    verifyInclusion(
      l.index,
      size,
      leafHash(bytes),
      l.inclusion.map((h) => Buffer.from(h, "base64")),
      root,
    );
  } catch (e) {
    throw new FraudInputError(`${what} is not in the signed log: ${(e as Error).message}`);
  }
  try {
    return decodeEntry(bytes);
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * What every machine's single-step proof checks alike: the checkpoint under the sequencer's key, the challenged
 * entry's inclusion, entry 0's empty pre root (`emptyRoot`: the machine's state tree's), and with `previous` the chain
 * of roots (a proof of a broken chain is settled here; a previous entry that follows throws FraudInputError).
 * Otherwise the challenged entry, whose tx the machine re-executes.
 */
export function openChallenge(
  p: { checkpoint: string; challenged: LoggedEntry; previous?: LoggedEntry },
  sequencerKey: string,
  origin?: string,
  emptyRoot: Hash = EMPTY_STATE_ROOT,
): { settled: FraudVerdict } | { index: number; entry: Entry } {
  const cp = openCheckpoint(p.checkpoint, [newVerifier(sequencerKey)], origin).checkpoint;
  const index = p.challenged.index;
  const entry = openLogged(p.challenged, cp.size, cp.root, "the challenged entry");
  const settle = (reason: string) => ({ settled: { fraud: true, index, reason } });
  if (typeof entry === "string") return settle(`entry ${index} is malformed: ${entry}`);
  if (index === 0 && !hashEquals(entry.pre, emptyRoot)) return settle("entry 0 does not start from the empty state");
  if (p.previous !== undefined) {
    if (p.previous.index !== index - 1) throw new FraudInputError(`the previous entry is ${p.previous.index}, not ${index - 1}`);
    const prev = openLogged(p.previous, cp.size, cp.root, "the previous entry");
    if (typeof prev === "string") throw new FraudInputError(`the previous entry is malformed (${prev}): challenge it instead`);
    if (!hashEquals(prev.post, entry.pre)) return settle(`entry ${index}'s pre root is not entry ${index - 1}'s post root`);
    throw new FraudInputError(`entry ${index}'s pre root follows from entry ${index - 1}`);
  }
  return { index, entry };
}

/** A verdict, or the refusal of a proof whose inputs do not hold (bad note, SMT or inclusion proof, shape). */
export function refusing(verdict: () => FraudVerdict): FraudVerdict {
  try {
    return verdict();
  } catch (e) {
    if (e instanceof FraudInputError) return { fraud: false, reason: e.message };
    if (e instanceof Error && ["NoteError", "SmtError", "ProofError", "TypeError"].includes(e.name)) return { fraud: false, reason: e.message };
    throw e;
  }
}

/**
 * The single step every machine re-executes alike: the touched leaves' values must be those under the entry's pre
 * root (`rootOf`: the root their batch proof makes with these leaves; null when it does not fit them), the tx is
 * re-executed on them alone, and the post root recomputed from the same proof must be the logged one — else fraud.
 * `label` names the entry in messages, `op` the tx, `reads` the leaves.
 */
export function reexecuteStep<V>(s: {
  index: number;
  entry: Entry;
  label: string;
  op: string;
  reads: string;
  rootOf: (leaves: [Uint8Array, Uint8Array | undefined][]) => Hash | null;
  before: ReadonlyMap<string, V>;
  leaves: (values: ReadonlyMap<string, V>) => [Uint8Array, Uint8Array | undefined][];
  execute: (before: ReadonlyMap<string, V>) => ReadonlyMap<string, V> | string;
}): FraudVerdict {
  const { index, entry } = s;
  const preRoot = s.rootOf(s.leaves(s.before));
  if (preRoot === null || !hashEquals(preRoot, entry.pre)) throw new FraudInputError(`the ${s.reads} read are not those under entry ${index}'s pre root`);
  const after = s.execute(s.before);
  if (typeof after === "string") return { fraud: true, index, reason: `entry ${index} logs an invalid ${s.op}: ${after}` };
  const postRoot = s.rootOf(s.leaves(after))!;
  if (!hashEquals(postRoot, entry.post)) return { fraud: true, index, reason: `entry ${index}'s post root is not the result of its ${s.op} (re-executed: ${hex(postRoot)})` };
  throw new FraudInputError(`${s.label} is a valid transition: nothing to challenge`);
}
