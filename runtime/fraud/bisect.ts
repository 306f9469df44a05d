/**
 * Interactive fraud proofs: a bisection game and a challenge window (§13.2, as in optimistic rollups).
 *
 * An asserter claims the roots S_0..S_N of applying N txs to the empty state (S_0 is agreed); a challenger who
 * disputes S_N opens a challenge within the window. Each round the asserter reveals its root at the middle of the
 * disputed range and the challenger agrees (the dispute moves right) or not (it moves left), so the range always
 * runs from a root both accept to one the challenger rejects. After ⌈log₂ N⌉ rounds it is one transition, which the
 * single-step check decides from the agreed pre root, the tx and the touched accounts' balances with their batch
 * proof under that root (`stepPostRoot`) — nobody re-executes more than one tx. An honest asserter always wins
 * (every root it reveals is the replayed one, and forged reads do not match the agreed root); a lying asserter
 * always loses (its range always ends at a root it told truthfully followed by a lie). A checkpoint nobody challenges
 * within the window is final; one whose asserter loses a challenge is rejected.
 */
import { hashEquals, MerkleTree, newVerifier, openCheckpoint, SmtError, type Hash } from "../prooflog/index.js";
import { decodeEntry, EMPTY_STATE_ROOT, FraudInputError } from "./challenge.js";
import { replay, stepPostRoot, type StepWitness } from "./transitions.js";

export interface Asserter {
  /** The root the asserter claims after `step` txs. */
  root(step: number): Hash;
}

export interface Challenger {
  /** Does the challenger accept this root after `step` txs? */
  agrees(step: number, root: Hash): boolean;
  /** Reads and proof for the single step `step` (under the root after step - 1). */
  witness(step: number): StepWitness | undefined;
}

export interface Round {
  lo: number;
  hi: number;
  mid: number;
  root: string; // hex, the asserter's root at mid
  agreed: boolean;
}

export interface BisectionOutcome {
  winner: "asserter" | "challenger";
  /** The single step the game came down to (0 when nothing was disputed). */
  step: number;
  reason: string;
  rounds: Round[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** One dispute over roots S_lo (agreed) .. S_hi (disputed), narrowed by halves to one step. */
export class BisectionGame {
  private lo = 0;
  private hi: number;
  private loRoot: Hash;
  readonly rounds: Round[] = [];

  constructor(
    private readonly txs: readonly unknown[],
    start: Hash,
    private hiRoot: Hash,
  ) {
    if (txs.length === 0) throw new FraudInputError("nothing to dispute: no txs");
    this.hi = txs.length;
    this.loRoot = start;
  }

  get done(): boolean {
    return this.hi - this.lo === 1;
  }

  /** The disputed step: the upper end of the range (the one step left once done). */
  get disputed(): number {
    return this.hi;
  }

  /** The step whose root the asserter must reveal next. */
  get mid(): number {
    if (this.done) throw new FraudInputError("the dispute is down to one step: resolve it");
    return Math.floor((this.lo + this.hi) / 2);
  }

  /** The asserter revealed `root` at `mid`; the challenger agreed with it or not. */
  respond(root: Hash, agreed: boolean): void {
    const mid = this.mid;
    this.rounds.push({ lo: this.lo, hi: this.hi, mid, root: hex(root), agreed });
    if (agreed) [this.lo, this.loRoot] = [mid, root];
    else [this.hi, this.hiRoot] = [mid, root];
  }

  /** Decide the one disputed step with the challenger's witness. */
  resolve(witness: StepWitness | undefined): BisectionOutcome {
    if (!this.done) throw new FraudInputError(`the dispute still spans steps ${this.lo}..${this.hi}`);
    const step = this.hi;
    const end = (winner: BisectionOutcome["winner"], reason: string): BisectionOutcome => ({ winner, step, reason, rounds: this.rounds });
    let expected: Hash;
    try {
      expected = stepPostRoot(this.loRoot, this.txs[step - 1], witness);
    } catch (e) {
      if (e instanceof FraudInputError || e instanceof SmtError) return end("asserter", `step ${step}: the challenger's step proof is refused (${e.message})`);
      throw e;
    }
    if (hashEquals(expected, this.hiRoot)) return end("asserter", `step ${step} is a valid transition from the agreed root`);
    return end("challenger", `step ${step}: the asserter claims ${hex(this.hiRoot)}, tx ${step - 1} from the agreed root gives ${hex(expected)}`);
  }
}

/** Play the whole game: the challenger disputes S_N (or accepts it: no game), then bisection, then the single step. */
export function playBisection(txs: readonly unknown[], asserter: Asserter, challenger: Challenger): BisectionOutcome {
  const n = txs.length;
  const claimed = asserter.root(n);
  if (n === 0 || challenger.agrees(n, claimed)) return { winner: "asserter", step: 0, reason: "the challenger accepts the final root: nothing disputed", rounds: [] };
  const game = new BisectionGame(txs, asserter.root(0), claimed);
  while (!game.done) {
    const mid = game.mid;
    const root = asserter.root(mid);
    game.respond(root, challenger.agrees(mid, root));
  }
  return game.resolve(challenger.witness(game.disputed));
}

/** An asserter that claims the replayed roots; `lie` overrides the root it claims at chosen steps. */
export function honestAsserter(txs: readonly unknown[], lie: ReadonlyMap<number, Hash> = new Map()): Asserter {
  const { roots } = replay(txs);
  return { root: (step) => lie.get(step) ?? roots[step]! };
}

/** A challenger that replays the txs itself and agrees exactly with the replayed roots. */
export function honestChallenger(txs: readonly unknown[]): Challenger {
  const r = replay(txs);
  return { agrees: (step, root) => hashEquals(root, r.roots[step]!), witness: r.witness };
}

/**
 * A sequencer's log as a claim to dispute: its txs, and as the asserter's roots the logged post roots (S_0 is the
 * empty state). The checkpoint must be signed by `sequencerKey` and commit exactly these entries. A malformed
 * entry claims no root a replay can reach.
 */
export function loggedClaim(checkpointNote: string, entries: readonly Uint8Array[], sequencerKey: string, origin?: string): { txs: unknown[]; asserter: Asserter } {
  const cp = openCheckpoint(checkpointNote, [newVerifier(sequencerKey)], origin).checkpoint;
  if (entries.length !== cp.size) throw new FraudInputError(`the checkpoint commits ${cp.size} entries; ${entries.length} are given`);
  const tree = new MerkleTree();
  for (const e of entries) tree.appendEntry(e);
  if (!hashEquals(tree.root(), cp.root)) throw new FraudInputError("the entries are not the log the checkpoint signs (root differs)");
  const txs: unknown[] = [];
  const roots: Hash[] = [EMPTY_STATE_ROOT];
  for (const bytes of entries) {
    try {
      const e = decodeEntry(bytes);
      txs.push(e.tx);
      roots.push(e.post);
    } catch {
      txs.push(null);
      roots.push(new Uint8Array(32).fill(0xff)); // no state has this root
    }
  }
  return { txs, asserter: { root: (step) => roots[step]! } };
}

export type ClaimStatus = "open" | "challenged" | "final" | "rejected";

/**
 * The challenge window over asserted checkpoints: a claim can be challenged until `windowMs` after it was
 * asserted; unchallenged (or every challenge lost by the challenger) once the window has passed, it is final; a
 * challenge the asserter loses rejects it for good. Time is passed in, never read.
 */
export class ChallengeWindow {
  private readonly claims = new Map<string, { at: number; challenges: number; rejected: boolean }>();

  constructor(readonly windowMs: number) {
    if (!(windowMs > 0)) throw new FraudInputError("the challenge window must be positive");
  }

  assert(id: string, now: number): void {
    if (this.claims.has(id)) throw new FraudInputError(`claim ${id} is already asserted`);
    this.claims.set(id, { at: now, challenges: 0, rejected: false });
  }

  /** Open a challenge; refused once the window has closed or the claim is decided. */
  challenge(id: string, now: number): void {
    const c = this.claim(id);
    const status = this.status(id, now);
    if (status === "final" || status === "rejected") throw new FraudInputError(`claim ${id} is ${status}: the window closed at ${c.at + this.windowMs}`);
    if (now >= c.at + this.windowMs) throw new FraudInputError(`claim ${id}: the window closed at ${c.at + this.windowMs}`);
    c.challenges++;
  }

  /** Record a challenge's outcome. */
  settle(id: string, outcome: BisectionOutcome): void {
    const c = this.claim(id);
    if (c.challenges === 0) throw new FraudInputError(`claim ${id} has no open challenge`);
    c.challenges--;
    if (outcome.winner === "challenger") c.rejected = true;
  }

  status(id: string, now: number): ClaimStatus {
    const c = this.claim(id);
    if (c.rejected) return "rejected";
    if (c.challenges > 0) return "challenged";
    return now >= c.at + this.windowMs ? "final" : "open";
  }

  private claim(id: string) {
    const c = this.claims.get(id);
    if (c === undefined) throw new FraudInputError(`no claim ${id}`);
    return c;
  }
}
