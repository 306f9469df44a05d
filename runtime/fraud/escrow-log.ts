/**
 * The escrow ledger's state-transition log and its single-step fraud proofs (escrow-machine.ts says what a valid
 * transition is). The same scheme as transitions.ts — entries (pre root, tx, post root) in an RFC 6962 log under a
 * signed checkpoint — with the escrow leaves instead of balances: a proof is the checkpoint, the challenged entry
 * with its inclusion proof, and the touched leaves (≤ 2) with their batch proof under the entry's pre root. The state
 * is a compact sparse Merkle tree (runtime/prooflog/csmt: a one-key subtree hashes as its leaf, no chain of ~240
 * default siblings as in the map's 256-level tree), so a tx costs ~log2(leaves) hashes a leaf written, and the proof
 * O(leaves touched × log2(leaves) + log depth) hashes. The verifier re-executes the one tx on those leaves alone. A
 * valid transition cannot be proven fraudulent: its leaves are bound to the pre root by the proof, which also shows
 * which neighbouring subtrees hold one key (a write emptying their sibling lifts them), so the post root recomputed
 * from it is the tree's. Entry 0's pre root, the compact tree's empty root (32 zero bytes), tells a log of this tree
 * from one written on the 256-level tree before it (whose entries do not re-execute to their roots here).
 */
import {
  CompactMerkleTree,
  CSMT_EMPTY,
  csmtRootFromProof,
  decodeCsmtProof,
  encodeCsmtProof,
  hashEquals,
  MerkleTree,
  newVerifier,
  openCheckpoint,
  proveCsmt,
  signCheckpoint,
  type Hash,
  type Signer,
} from "../prooflog/index.js";
import { checkEscrowFields, escrowKeys, executeEscrow, parseEscrowTx, smtKey, stepEscrow, type EscrowLeafIO, type EscrowTx, type ReservationLeaf } from "./escrow-machine.js";
import { decodeEntry, encodeEntry, FraudInputError, logged, openChallenge, reexecuteStep, refusing, type Entry, type FraudVerdict, type LoggedEntry } from "./challenge.js";

export interface EscrowFraudProof {
  checkpoint: string;
  challenged: LoggedEntry;
  previous?: LoggedEntry;
  /** The touched leaves under the pre root (null: absent) and their batch proof (runtime/prooflog/csmt/proof.ts's items as JSON). */
  reads?: { key: string; value: string | null }[];
  proof?: (string | null)[];
}

/** The escrow state's empty root: entry 0's pre root. */
export const ESCROW_EMPTY_ROOT: Hash = CSMT_EMPTY;

const utf8 = (v: string | undefined) => (v === undefined ? undefined : Buffer.from(v, "utf8"));

/**
 * A leaf the state read or wrote lately: its name and tree key, its text, and (a reservation) its parsed form when
 * known; while a tx runs, whether it wrote the leaf and what (applied only if the tx is valid).
 */
interface Recent {
  name: string;
  key: Buffer;
  text: string | undefined;
  parsed: ReservationLeaf | null;
  written: boolean;
  next: string | undefined;
  nextParsed: ReservationLeaf | null;
}
/** Leaves kept in `EscrowState.recent` before it starts over (a sale's reserve and commit are usually far closer). */
const RECENT = 8192;

/** The escrow state a sequencer or a challenger keeps. */
class EscrowState {
  readonly tree = new CompactMerkleTree();
  /**
   * The leaves read or written lately (the counters, the reservations a later commit reads), so a tx reads no trie
   * path, decodes no UTF-8, parses no reservation and hashes no leaf name it touched lately. It follows every write
   * made here; one made to `tree` from outside (a restore's) empties it.
   */
  private recent = new Map<string, Recent>();
  private writesSeen = 0;
  /** The leaves the running tx touched (≤ 2). */
  private readonly touched: Recent[] = [];
  private readonly io: EscrowLeafIO = {
    get: (name) => {
      const r = this.touch(name);
      return r.written ? r.next : r.text;
    },
    set: (name, value, parsed) => {
      const r = this.touch(name);
      r.written = true;
      r.next = value;
      r.nextParsed = parsed ?? null;
    },
    reservation: (name) => {
      const r = this.touch(name);
      return r.written ? null : r.parsed;
    },
  };

  /** The state root (kept until the tree is written: a tx's post root is the next one's pre root). */
  root(): Hash {
    const t = this.tree;
    if (this.rootAt?.writes !== t.writes) this.rootAt = { writes: t.writes, root: t.root() };
    return this.rootAt.root;
  }
  private rootAt?: { writes: number; root: Hash };

  private touch(name: string): Recent {
    const touched = this.touched;
    for (let i = 0; i < touched.length; i++) if (touched[i]!.name === name) return touched[i]!;
    const r = this.leaf(name);
    r.written = false;
    touched.push(r);
    return r;
  }

  private leaf(name: string): Recent {
    if (this.tree.writes !== this.writesSeen) [this.recent, this.writesSeen] = [new Map(), this.tree.writes];
    let r = this.recent.get(name);
    if (r === undefined) {
      if (this.recent.size >= RECENT) this.recent = new Map();
      const key = smtKey(name);
      const v = this.tree.get(key);
      const text = v === undefined ? undefined : Buffer.from(v.buffer, v.byteOffset, v.length).toString("utf8");
      r = { name, key, text, parsed: null, written: false, next: undefined, nextParsed: null };
      this.recent.set(name, r);
    }
    return r;
  }

  read(key: string): string | undefined {
    return this.leaf(key).text;
  }

  /** Apply a tx; the post root, or why it is invalid (state unchanged). Only the leaves it changes are written. */
  apply(tx: EscrowTx): Hash | string {
    const touched = this.touched;
    touched.length = 0;
    const bad = stepEscrow(tx, this.io);
    const writes: [Buffer, Buffer | undefined][] = [];
    for (const r of touched) {
      if (bad !== undefined || !r.written || r.next === r.text) continue;
      writes.push([r.key, utf8(r.next)]);
      r.text = r.next;
      r.parsed = r.nextParsed;
    }
    touched.length = 0;
    if (bad !== undefined) return bad;
    const root = this.tree.setManyOwned(writes);
    this.writesSeen = this.tree.writes;
    this.rootAt = { writes: this.tree.writes, root };
    return root;
  }

  /** Write leaves as given (null: absent), e.g. put back what a tx read. */
  restore(leaves: readonly { key: string; value: string | null }[]): void {
    this.tree.setMany(leaves.map((r) => [smtKey(r.key), utf8(r.value ?? undefined)] as const));
  }
}

/** The escrow's transition log: executes ledger txs, appends (pre, tx, post) and signs checkpoints. */
export class EscrowSequencer {
  readonly state = new EscrowState();
  readonly log = new MerkleTree();
  readonly entries: Buffer[] = [];

  constructor(
    readonly origin: string,
    private readonly signer: Signer,
  ) {}

  /** Execute and log a tx; refuses (FraudInputError) an invalid one, which an honest escrow never logs. */
  submit(tx: unknown): Entry {
    const valid = parseEscrowTx(tx);
    if (typeof valid === "string") throw new FraudInputError(valid);
    return this.execute(valid);
  }

  /**
   * `submit` of a tx the caller built with exactly its op's fields (the escrow's transition log from ledger events):
   * its fields are checked as `submit` checks them, its shape is taken as given (an extra field would be logged).
   */
  submitBuilt(tx: EscrowTx): Entry {
    const bad = checkEscrowFields(tx);
    if (bad !== undefined) throw new FraudInputError(bad);
    return this.execute(tx);
  }

  private execute(tx: EscrowTx): Entry {
    const pre = this.state.root();
    const post = this.state.apply(tx);
    if (typeof post === "string") throw new FraudInputError(post);
    const entry = { pre, tx, post };
    this.appendEntry(entry);
    return entry;
  }

  /** Append an entry as given, unexecuted: how a faulty escrow writes its log (tests and demos). */
  appendEntry(entry: Entry): number {
    const bytes = encodeEntry(entry);
    this.entries.push(bytes);
    return this.log.appendEntry(bytes);
  }

  checkpoint(): string {
    return signCheckpoint({ origin: this.origin, size: this.log.size, root: this.log.root(), extensions: [] }, [this.signer]);
  }
}

/**
 * Replay the log as a challenger: the proof for the first transition that does not check out (or, with `index`, for
 * that transition whatever it is — a proof the verifier refuses when it is valid); undefined when all check out.
 */
export function proveEscrow(checkpointNote: string, entries: readonly Uint8Array[], sequencerKey: string, origin?: string, index?: number): EscrowFraudProof | undefined {
  const cp = openCheckpoint(checkpointNote, [newVerifier(sequencerKey)], origin).checkpoint;
  if (entries.length < cp.size) throw new FraudInputError(`the checkpoint commits ${cp.size} entries; only ${entries.length} are available`);
  if (index !== undefined && !(Number.isSafeInteger(index) && index >= 0 && index < cp.size)) throw new FraudInputError(`transition ${index} is not in the checkpoint's log of ${cp.size}`);
  const tree = new MerkleTree();
  const bytes = entries.slice(0, cp.size).map((e) => Buffer.from(e));
  for (const e of bytes) tree.appendEntry(e);
  if (!hashEquals(tree.root(), cp.root)) throw new FraudInputError("the entries are not the log the checkpoint signs (root differs)");
  const state = new EscrowState();
  for (let i = 0; i < bytes.length; i++) {
    const pick = index === i;
    const base: EscrowFraudProof = { checkpoint: checkpointNote, challenged: logged(tree, bytes, i, cp.size) };
    let entry: Entry;
    try {
      entry = decodeEntry(bytes[i]!);
    } catch {
      return base;
    }
    if (!hashEquals(entry.pre, state.root())) return i === 0 ? base : { ...base, previous: logged(tree, bytes, i - 1, cp.size) };
    const tx = parseEscrowTx(entry.tx);
    if (typeof tx === "string") return base;
    const keys = escrowKeys(tx);
    const reads = keys.map((key) => ({ key, value: state.read(key) ?? null }));
    const post = state.apply(tx);
    if (pick || typeof post === "string" || !hashEquals(post, entry.post)) {
      // Put the touched leaves back (an invalid tx changed nothing) and prove them under the pre root.
      state.restore(reads);
      return { ...base, reads, proof: encodeCsmtProof(proveCsmt(state.tree, keys.map(smtKey))) };
    }
  }
  return undefined;
}

/** Check an escrow fraud proof with nothing but the escrow's key: fraud proven (and why), or refused (and why). */
export function checkEscrowFraudProof(p: EscrowFraudProof, sequencerKey: string, origin?: string): FraudVerdict {
  return refusing(() => verdict(p, sequencerKey, origin));
}

function verdict(p: EscrowFraudProof, sequencerKey: string, origin?: string): FraudVerdict {
  const open = openChallenge(p, sequencerKey, origin, ESCROW_EMPTY_ROOT);
  if ("settled" in open) return open.settled;
  const { index, entry } = open;
  const fraud = (reason: string): FraudVerdict => ({ fraud: true, index, reason });
  const tx = parseEscrowTx(entry.tx);
  if (typeof tx === "string") return fraud(`entry ${index} logs an invalid tx: ${tx}`);
  const keys = escrowKeys(tx);
  if (p.reads === undefined || p.proof === undefined) throw new FraudInputError("the proof has no reads of the touched leaves");
  if (p.reads.length !== keys.length || p.reads.some((r, i) => r.key !== keys[i])) throw new FraudInputError(`the reads are not of the touched leaves ${keys.join(", ")}`);
  // A value is text or null: anything Buffer.from also takes (an array of the bytes) would pass the root check and be
  // read otherwise by the machine, proving a valid step fraudulent (the court's schema says so; `fraud check` does not).
  // Nor a string with a lone surrogate, which UTF-8 encodes as U+FFFD: two values the machine reads apart, one leaf hash.
  if (p.reads.some((r) => r.value !== null && (typeof r.value !== "string" || /\p{Cs}/u.test(r.value)))) throw new FraudInputError("a read's value is not a string (well-formed UTF-16) or null");
  const proof = decodeCsmtProof(p.proof);
  const before = new Map<string, string | undefined>(p.reads.map((r) => [r.key, r.value ?? undefined]));
  return reexecuteStep({
    index,
    entry,
    label: `entry ${index} (${tx.op})`,
    op: tx.op,
    reads: "leaves",
    rootOf: (leaves) => csmtRootFromProof(leaves, proof),
    before,
    leaves: (m) => keys.map((k) => [smtKey(k), utf8(m.get(k))]),
    execute: (b) => executeEscrow(tx, b),
  });
}
