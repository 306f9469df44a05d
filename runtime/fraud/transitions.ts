/**
 * Fraud proofs for a state-transition log (§13.2, optimistic rollups): a sequencer appends one entry per
 * transaction to an RFC 6962 log — (pre state root, tx, post state root) — and signs checkpoints of that log.
 * The state is a sparse Merkle tree of balances (runtime/prooflog/smt), key SHA-256(account), value the balance
 * in decimal; a zero balance is an absent key, so every state has exactly one root.
 *
 * Nobody re-executes anything unless challenged. A challenger who replays the log and finds the first transition
 * that does not check out publishes a single-step fraud proof: the signed checkpoint, the entry with its inclusion
 * proof under it (so the challenge is about what the log committed), and a batch proof of the touched keys'
 * balances under the entry's pre root. The verifier re-executes the one transaction on those keys alone and
 * computes the post root from the same siblings — no other state is needed, so the proof is O(keys touched ×
 * SMT depth + log depth) hashes whatever the size of the state or the log. A transition is fraudulent when its
 * tx is invalid (malformed, overdraft, self-transfer) or its post root is not the re-executed one; a pre root that
 * is not the previous entry's post root is proven with the two adjacent entries.
 */
import { hash } from "node:crypto";
import { decodeEntry, encodeEntry, FraudInputError, hex, logged, openChallenge, reexecuteStep, refusing, unhex, type Entry, type FraudVerdict, type LoggedEntry } from "./challenge.js";
import { hashEquals, MerkleTree, newVerifier, openCheckpoint, rootFromBatch, signCheckpoint, SparseMerkleTree, type Hash, type Signer, type SmtProof } from "../prooflog/index.js";

/** Credit an account (an escrow deposit, a quota grant) or move an amount between two accounts. */
export type Tx = { op: "mint"; to: string; amount: number } | { op: "transfer"; from: string; to: string; amount: number };

const accountKey = (account: string): Buffer => hash("sha256", Buffer.from(account, "utf8"), "buffer");

const ACCOUNT = /^[A-Za-z0-9._:@-]{1,64}$/;

/** The tx if it is well-formed, or the reason it is not. */
function parseTx(tx: unknown): Tx | string {
  if (typeof tx !== "object" || tx === null) return "tx is not an object";
  const o = tx as Record<string, unknown>;
  if (!Number.isSafeInteger(o.amount) || (o.amount as number) <= 0) return "amount is not a positive integer";
  const amount = o.amount as number;
  if (typeof o.to !== "string" || !ACCOUNT.test(o.to)) return "to is not an account name";
  if (o.op === "mint") return Object.keys(o).length === 3 ? { op: "mint", to: o.to, amount } : "mint has extra fields";
  if (o.op !== "transfer") return `op ${JSON.stringify(o.op)} is not mint or transfer`;
  if (typeof o.from !== "string" || !ACCOUNT.test(o.from)) return "from is not an account name";
  if (o.from === o.to) return "transfer to the same account";
  return Object.keys(o).length === 4 ? { op: "transfer", from: o.from, to: o.to, amount } : "transfer has extra fields";
}

/** Accounts a tx reads and writes, in a fixed order. */
function touched(tx: Tx): string[] {
  return tx.op === "mint" ? [tx.to] : [tx.from, tx.to];
}

const encodeBalance = (b: bigint): Uint8Array | undefined => (b === 0n ? undefined : Buffer.from(b.toString(10), "utf8"));
function decodeBalance(v: Uint8Array | undefined): bigint {
  if (v === undefined) return 0n;
  const s = Buffer.from(v).toString("utf8");
  if (!/^[1-9][0-9]*$/.test(s)) throw new FraudInputError(`balance ${JSON.stringify(s)} is not a positive decimal`);
  return BigInt(s);
}

/** Apply a tx to the balances of its touched accounts: the new balances, or why the tx is invalid. */
function execute(tx: Tx, balances: ReadonlyMap<string, bigint>): Map<string, bigint> | string {
  const out = new Map(balances);
  const amount = BigInt(tx.amount);
  if (tx.op === "transfer") {
    const from = out.get(tx.from) ?? 0n;
    if (from < amount) return `overdraft: ${tx.from} has ${from}, transfer of ${amount}`;
    out.set(tx.from, from - amount);
  }
  out.set(tx.to, (out.get(tx.to) ?? 0n) + amount);
  return out;
}

/** The full state a sequencer or a challenger keeps. */
class BalanceState {
  readonly tree = new SparseMerkleTree();

  root(): Hash {
    return this.tree.root();
  }

  balance(account: string): bigint {
    return decodeBalance(this.tree.get(accountKey(account)));
  }

  /** Apply a valid tx; returns the post root, or the reason it is invalid (state unchanged). */
  apply(tx: Tx): Hash | string {
    const next = execute(tx, new Map(touched(tx).map((a) => [a, this.balance(a)])));
    if (typeof next === "string") return next;
    for (const [a, b] of next) this.tree.set(accountKey(a), encodeBalance(b));
    return this.root();
  }
}

/**
 * The sequencer: executes txs, appends (pre, tx, post) entries and signs checkpoints. Honest by default; tests
 * and demos drive a dishonest one through `appendEntry` with whatever entry they like.
 */
export class Sequencer {
  readonly state = new BalanceState();
  readonly log = new MerkleTree();
  readonly entries: Buffer[] = [];

  constructor(
    readonly origin: string,
    private readonly signer: Signer,
  ) {}

  /**
   * Execute and log a tx; refuses an invalid one (an honest sequencer never logs it). `claimedPost` makes it lie:
   * the state moves on as executed, the entry claims this post root instead.
   */
  submit(tx: Tx, claimedPost?: Hash): Entry {
    const valid = parseTx(tx);
    if (typeof valid === "string") throw new FraudInputError(valid);
    const pre = this.state.root();
    const post = this.state.apply(valid);
    if (typeof post === "string") throw new FraudInputError(post);
    const entry = { pre, tx: valid, post: claimedPost ?? post };
    this.appendEntry(entry);
    return entry;
  }

  /** Append an entry as given (no execution): the way a faulty sequencer writes its log. */
  appendEntry(entry: Entry): number {
    const bytes = encodeEntry(entry);
    this.entries.push(bytes);
    return this.log.appendEntry(bytes);
  }

  checkpoint(): string {
    return signCheckpoint({ origin: this.origin, size: this.log.size, root: this.log.root(), extensions: [] }, [this.signer]);
  }
}

export interface FraudProof {
  checkpoint: string; // the signed checkpoint note
  challenged: LoggedEntry;
  /** Entry index - 1, when the pre root does not follow from it (absent for index 0: the genesis root is fixed). */
  previous?: LoggedEntry;
  /** Balances of the touched accounts under the pre root, and their batch proof (hex siblings, null = default). */
  reads?: { account: string; balance: string }[];
  proof?: (string | null)[];
}

/**
 * Replay a log from genesis (the challenger's job): the fraud proof for the first transition that does not check
 * out, or undefined when every entry up to the checkpoint's size is a valid transition from the previous one.
 * `entries` are the log's entries in order (data availability is assumed: the challenger has them).
 */
export function findFraud(checkpointNote: string, entries: readonly Uint8Array[], sequencerKey: string, origin?: string): FraudProof | undefined {
  const cp = openCheckpoint(checkpointNote, [newVerifier(sequencerKey)], origin).checkpoint;
  if (entries.length < cp.size) throw new FraudInputError(`the checkpoint commits ${cp.size} entries; only ${entries.length} are available`);
  const tree = new MerkleTree();
  const bytes = entries.slice(0, cp.size).map((e) => Buffer.from(e));
  for (const e of bytes) tree.appendEntry(e);
  if (!hashEquals(tree.root(), cp.root)) throw new FraudInputError("the entries are not the log the checkpoint signs (root differs)");
  const state = new BalanceState();
  for (let i = 0; i < bytes.length; i++) {
    const base: FraudProof = { checkpoint: checkpointNote, challenged: logged(tree, bytes, i, cp.size) };
    let entry: Entry;
    try {
      entry = decodeEntry(bytes[i]!);
    } catch {
      return base; // a malformed entry is its own proof
    }
    if (!hashEquals(entry.pre, state.root())) return i === 0 ? base : { ...base, previous: logged(tree, bytes, i - 1, cp.size) };
    const tx = parseTx(entry.tx);
    if (typeof tx === "string") return base;
    const accounts = touched(tx);
    const proof: FraudProof = {
      ...base,
      reads: accounts.map((account) => ({ account, balance: state.balance(account).toString(10) })),
      proof: state.tree.proveBatch(accounts.map(accountKey)).map((h) => (h === null ? null : hex(h))),
    };
    const post = state.apply(tx);
    if (typeof post === "string" || !hashEquals(post, entry.post)) return proof;
  }
  return undefined;
}

/**
 * Check a fraud proof against the sequencer's key: fraud proven (with the reason), or refused (with why). Only
 * the checkpoint signature, the inclusion proofs and the touched keys' SMT proof are used — no other state.
 */
export function checkFraudProof(p: FraudProof, sequencerKey: string, origin?: string): FraudVerdict {
  return refusing(() => verdict(p, sequencerKey, origin));
}

function verdict(p: FraudProof, sequencerKey: string, origin?: string): FraudVerdict {
  const open = openChallenge(p, sequencerKey, origin);
  if ("settled" in open) return open.settled;
  const { index, entry } = open;
  const fraud = (reason: string): FraudVerdict => ({ fraud: true, index, reason });
  const tx = parseTx(entry.tx);
  if (typeof tx === "string") return fraud(`entry ${index} logs an invalid tx: ${tx}`);
  const accounts = touched(tx);
  if (p.reads === undefined || p.proof === undefined) throw new FraudInputError("the proof has no reads of the touched accounts");
  if (p.reads.length !== accounts.length || p.reads.some((r, i) => r.account !== accounts[i])) throw new FraudInputError(`the reads are not of the touched accounts ${accounts.join(", ")}`);
  const siblings: SmtProof = p.proof.map((h, i) => (h === null ? null : unhex(h, `proof sibling ${i}`)));
  const before = new Map<string, bigint>();
  for (const r of p.reads) {
    if (!/^(0|[1-9][0-9]*)$/.test(r.balance)) throw new FraudInputError(`balance of ${r.account} is not a decimal`);
    before.set(r.account, BigInt(r.balance));
  }
  return reexecuteStep({
    index,
    entry,
    label: `entry ${index}`,
    op: "tx",
    reads: "balances",
    rootOf: (leaves) => rootFromBatch(leaves, siblings),
    before,
    leaves: (m) => accounts.map((a) => [accountKey(a), encodeBalance(m.get(a)!)]),
    execute: (b) => execute(tx, b),
  });
}

/** The reads of a tx's touched accounts under a state root and their batch proof: what a single step needs. */
export interface StepWitness {
  reads: { account: string; balance: string }[];
  proof: (string | null)[];
}

/**
 * The post root of one transition of the bisection game, from the touched accounts' balances and their batch proof
 * under `pre` alone. In the game an invalid tx (malformed, overdraft) leaves the state as it is, so every tx list
 * has one honest sequence of roots. Throws FraudInputError when the reads are not those under `pre`.
 */
export function stepPostRoot(pre: Hash, tx: unknown, w: StepWitness | undefined): Hash {
  const valid = parseTx(tx);
  if (typeof valid === "string") return pre;
  const accounts = touched(valid);
  if (w === undefined) throw new FraudInputError("the step has no reads of the touched accounts");
  if (w.reads.length !== accounts.length || w.reads.some((r, i) => r.account !== accounts[i])) throw new FraudInputError(`the reads are not of the touched accounts ${accounts.join(", ")}`);
  const siblings: SmtProof = w.proof.map((h, i) => (h === null ? null : unhex(h, `proof sibling ${i}`)));
  const before = new Map<string, bigint>();
  for (const r of w.reads) {
    if (!/^(0|[1-9][0-9]*)$/.test(r.balance)) throw new FraudInputError(`balance of ${r.account} is not a decimal`);
    before.set(r.account, BigInt(r.balance));
  }
  const at = (m: ReadonlyMap<string, bigint>) => accounts.map((a) => [accountKey(a), encodeBalance(m.get(a)!)] as [Uint8Array, Uint8Array | undefined]);
  const preRoot = rootFromBatch(at(before), siblings);
  if (preRoot === null || !hashEquals(preRoot, pre)) throw new FraudInputError("the balances read are not those under the agreed pre root");
  const after = execute(valid, before);
  return typeof after === "string" ? pre : rootFromBatch(at(after), siblings)!;
}

/** Replay `txs` from the empty state (invalid txs leave it as it is): every root S_0..S_N and each step's witness. */
export function replay(txs: readonly unknown[]): { roots: Hash[]; witness(step: number): StepWitness | undefined } {
  const state = new BalanceState();
  const roots: Hash[] = [state.root()];
  const witnesses: (StepWitness | undefined)[] = [];
  for (const tx of txs) {
    const valid = parseTx(tx);
    if (typeof valid === "string") witnesses.push(undefined);
    else {
      const accounts = touched(valid);
      witnesses.push({
        reads: accounts.map((account) => ({ account, balance: state.balance(account).toString(10) })),
        proof: state.tree.proveBatch(accounts.map(accountKey)).map((h) => (h === null ? null : hex(h))),
      });
      state.apply(valid);
    }
    roots.push(state.root());
  }
  return { roots, witness: (step) => witnesses[step - 1] };
}

/** Size of a fraud proof in bytes as JSON (what a challenger publishes). */
export function proofSize(p: FraudProof): number {
  return Buffer.byteLength(JSON.stringify(p));
}
