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
import {
  hashEquals,
  leafHash,
  MerkleTree,
  newVerifier,
  openCheckpoint,
  rootFromBatch,
  signCheckpoint,
  SparseMerkleTree,
  verifyInclusion,
  type Hash,
  type Signer,
  type SmtProof,
} from "../prooflog/index.js";

/** Credit an account (an escrow deposit, a quota grant) or move an amount between two accounts. */
export type Tx = { op: "mint"; to: string; amount: number } | { op: "transfer"; from: string; to: string; amount: number };

export interface Entry {
  pre: Hash;
  tx: unknown; // what the sequencer logged: a Tx if it is honest, anything otherwise
  post: Hash;
}

export class FraudInputError extends Error {
  override name = "FraudInputError";
}

/** Root of the empty state. */
export const EMPTY_STATE_ROOT: Hash = new SparseMerkleTree().root();

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: unknown, what: string): Buffer => {
  if (typeof s !== "string" || !/^([0-9a-f]{64})$/.test(s)) throw new FraudInputError(`${what} is not a 32-byte lower-case hex hash`);
  return Buffer.from(s, "hex");
};
const accountKey = (account: string): Buffer => hash("sha256", Buffer.from(account, "utf8"), "buffer");

/** Canonical bytes of a log entry (what the log's leaf hash commits). */
export function encodeEntry(e: Entry): Buffer {
  return Buffer.from(JSON.stringify({ pre: hex(e.pre), tx: e.tx, post: hex(e.post) }), "utf8");
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

/** One logged entry with its inclusion proof under the checkpoint. */
export interface LoggedEntry {
  index: number;
  entry: string; // base64 of the entry bytes
  inclusion: string[]; // base64 hashes
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

export type FraudVerdict = { fraud: true; index: number; reason: string } | { fraud: false; reason: string };

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

export function logged(tree: MerkleTree, entries: readonly Buffer[], index: number, size: number): LoggedEntry {
  return { index, entry: b64(entries[index]!), inclusion: tree.inclusionProof(index, size).map(b64) };
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
 * entry's inclusion, entry 0's empty pre root, and with `previous` the chain of roots (a proof of a broken chain is
 * settled here; a previous entry that follows throws FraudInputError). Otherwise the challenged entry, whose tx the
 * machine re-executes.
 */
export function openChallenge(
  p: { checkpoint: string; challenged: LoggedEntry; previous?: LoggedEntry },
  sequencerKey: string,
  origin?: string,
): { settled: FraudVerdict } | { index: number; entry: Entry } {
  const cp = openCheckpoint(p.checkpoint, [newVerifier(sequencerKey)], origin).checkpoint;
  const index = p.challenged.index;
  const entry = openLogged(p.challenged, cp.size, cp.root, "the challenged entry");
  const settle = (reason: string) => ({ settled: { fraud: true, index, reason } });
  if (typeof entry === "string") return settle(`entry ${index} is malformed: ${entry}`);
  if (index === 0 && !hashEquals(entry.pre, EMPTY_STATE_ROOT)) return settle("entry 0 does not start from the empty state");
  if (p.previous !== undefined) {
    if (p.previous.index !== index - 1) throw new FraudInputError(`the previous entry is ${p.previous.index}, not ${index - 1}`);
    const prev = openLogged(p.previous, cp.size, cp.root, "the previous entry");
    if (typeof prev === "string") throw new FraudInputError(`the previous entry is malformed (${prev}): challenge it instead`);
    if (!hashEquals(prev.post, entry.pre)) return settle(`entry ${index}'s pre root is not entry ${index - 1}'s post root`);
    throw new FraudInputError(`entry ${index}'s pre root follows from entry ${index - 1}`);
  }
  return { index, entry };
}

/**
 * Check a fraud proof against the sequencer's key: fraud proven (with the reason), or refused (with why). Only
 * the checkpoint signature, the inclusion proofs and the touched keys' SMT proof are used — no other state.
 */
export function checkFraudProof(p: FraudProof, sequencerKey: string, origin?: string): FraudVerdict {
  return refusing(() => verdict(p, sequencerKey, origin));
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
 * root (their batch proof's siblings), the tx is re-executed on them alone, and the post root recomputed from the
 * same siblings must be the logged one — else fraud. `label` names the entry in messages, `op` the tx, `reads` the
 * leaves.
 */
export function reexecuteStep<V>(s: {
  index: number;
  entry: Entry;
  label: string;
  op: string;
  reads: string;
  siblings: SmtProof;
  before: ReadonlyMap<string, V>;
  leaves: (values: ReadonlyMap<string, V>) => [Uint8Array, Uint8Array | undefined][];
  execute: (before: ReadonlyMap<string, V>) => ReadonlyMap<string, V> | string;
}): FraudVerdict {
  const { index, entry } = s;
  const preRoot = rootFromBatch(s.leaves(s.before), s.siblings);
  if (preRoot === null || !hashEquals(preRoot, entry.pre)) throw new FraudInputError(`the ${s.reads} read are not those under entry ${index}'s pre root`);
  const after = s.execute(s.before);
  if (typeof after === "string") return { fraud: true, index, reason: `entry ${index} logs an invalid ${s.op}: ${after}` };
  const postRoot = rootFromBatch(s.leaves(after), s.siblings)!;
  if (!hashEquals(postRoot, entry.post)) return { fraud: true, index, reason: `entry ${index}'s post root is not the result of its ${s.op} (re-executed: ${hex(postRoot)})` };
  throw new FraudInputError(`${s.label} is a valid transition: nothing to challenge`);
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
    siblings,
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
