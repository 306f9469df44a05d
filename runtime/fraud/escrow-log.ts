/**
 * The escrow ledger's state-transition log and its single-step fraud proofs (escrow-machine.ts says what a valid
 * transition is). The same scheme as transitions.ts — entries (pre root, tx, post root) in an RFC 6962 log under a
 * signed checkpoint — with the escrow leaves instead of balances: a proof is the checkpoint, the challenged entry
 * with its inclusion proof, and the touched leaves (≤ 2) with their batch SMT proof under the entry's pre root. The
 * verifier re-executes the one tx on those leaves alone, so the proof is O(leaves touched × SMT depth + log depth)
 * hashes whatever the number of reservations or transitions. A valid transition cannot be proven fraudulent: its
 * leaves are bound to the pre root by the SMT proof and its post root is recomputed from the same siblings.
 */
import { hashEquals, MerkleTree, newVerifier, openCheckpoint, signCheckpoint, SparseMerkleTree, type Hash, type Signer, type SmtProof } from "../prooflog/index.js";
import { escrowKeys, executeEscrow, parseEscrowTx, smtKey, type EscrowTx } from "./escrow-machine.js";
import { decodeEntry, encodeEntry, FraudInputError, logged, openChallenge, reexecuteStep, refusing, type Entry, type FraudVerdict, type LoggedEntry } from "./challenge.js";

export interface EscrowFraudProof {
  checkpoint: string;
  challenged: LoggedEntry;
  previous?: LoggedEntry;
  /** The touched leaves under the pre root (null: absent) and their batch proof (hex siblings, null = default). */
  reads?: { key: string; value: string | null }[];
  proof?: (string | null)[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const utf8 = (v: string | undefined) => (v === undefined ? undefined : Buffer.from(v, "utf8"));

/** The escrow state a sequencer or a challenger keeps. */
class EscrowState {
  readonly tree = new SparseMerkleTree();

  root(): Hash {
    return this.tree.root();
  }

  read(key: string): string | undefined {
    const v = this.tree.get(smtKey(key));
    return v === undefined ? undefined : Buffer.from(v).toString("utf8");
  }

  /** Apply a tx; the post root, or why it is invalid (state unchanged). */
  apply(tx: EscrowTx): Hash | string {
    const next = executeEscrow(tx, new Map(escrowKeys(tx).map((k) => [k, this.read(k)])));
    if (typeof next === "string") return next;
    return this.tree.setMany([...next].map(([k, v]) => [smtKey(k), utf8(v)] as const));
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
    const pre = this.state.root();
    const post = this.state.apply(valid);
    if (typeof post === "string") throw new FraudInputError(post);
    const entry = { pre, tx: valid, post };
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
      state.tree.setMany(reads.map((r) => [smtKey(r.key), utf8(r.value ?? undefined)] as const));
      return { ...base, reads, proof: state.tree.proveBatch(keys.map(smtKey)).map((h) => (h === null ? null : hex(h))) };
    }
  }
  return undefined;
}

/** Check an escrow fraud proof with nothing but the escrow's key: fraud proven (and why), or refused (and why). */
export function checkEscrowFraudProof(p: EscrowFraudProof, sequencerKey: string, origin?: string): FraudVerdict {
  return refusing(() => verdict(p, sequencerKey, origin));
}

function verdict(p: EscrowFraudProof, sequencerKey: string, origin?: string): FraudVerdict {
  const open = openChallenge(p, sequencerKey, origin);
  if ("settled" in open) return open.settled;
  const { index, entry } = open;
  const fraud = (reason: string): FraudVerdict => ({ fraud: true, index, reason });
  const tx = parseEscrowTx(entry.tx);
  if (typeof tx === "string") return fraud(`entry ${index} logs an invalid tx: ${tx}`);
  const keys = escrowKeys(tx);
  if (p.reads === undefined || p.proof === undefined) throw new FraudInputError("the proof has no reads of the touched leaves");
  if (p.reads.length !== keys.length || p.reads.some((r, i) => r.key !== keys[i])) throw new FraudInputError(`the reads are not of the touched leaves ${keys.join(", ")}`);
  const siblings: SmtProof = p.proof.map((h, i) => {
    if (h !== null && (typeof h !== "string" || !/^[0-9a-f]{64}$/.test(h))) throw new FraudInputError(`proof sibling ${i} is not a 32-byte hex hash`);
    return h === null ? null : Buffer.from(h, "hex");
  });
  const before = new Map<string, string | undefined>(p.reads.map((r) => [r.key, r.value ?? undefined]));
  return reexecuteStep({
    index,
    entry,
    label: `entry ${index} (${tx.op})`,
    op: tx.op,
    reads: "leaves",
    siblings,
    before,
    leaves: (m) => keys.map((k) => [smtKey(k), utf8(m.get(k))]),
    execute: (b) => executeEscrow(tx, b),
  });
}
