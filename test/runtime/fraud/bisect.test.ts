/**
 * The bisection game and the challenge window (runtime/fraud/bisect.ts): over random tx lists (including invalid
 * txs, which leave the state as it is), an honest asserter always wins — against an honest challenger, one that
 * disputes at random and one that forges its step reads — and an asserter that lies at any set of steps (the last
 * included) always loses against an honest challenger, on a step from a root it told truthfully to a lie, in at most ⌈log₂ N⌉ rounds.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BisectionGame, ChallengeWindow, FraudInputError, honestAsserter, honestChallenger, playBisection, replay, type Challenger } from "../../../runtime/fraud/index.js";

const ACCOUNTS = ["alice", "bob", "carol"];
const txArb = fc.oneof(
  fc.record({ op: fc.constant("mint"), to: fc.constantFrom(...ACCOUNTS), amount: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ op: fc.constant("transfer"), from: fc.constantFrom(...ACCOUNTS), to: fc.constantFrom(...ACCOUNTS), amount: fc.integer({ min: 1, max: 80 }) }), // overdrafts and self-transfers: no-ops
  fc.constant({ op: "burn", to: "alice", amount: 1 }), // malformed: a no-op
);
const txsArb = fc.array(txArb, { minLength: 1, maxLength: 40 });
const junk = (s: string) => createHash("sha256").update(s).digest();
const rounds = (n: number) => Math.ceil(Math.log2(n));

describe("bisection game", () => {
  it("an asserter lying at any steps (the final root among them) always loses, on a step from a true root to a lie, in ≤ ⌈log₂ N⌉ rounds", () => {
    fc.assert(
      fc.property(txsArb, fc.array(fc.nat(), { maxLength: 5 }), (txs, picks) => {
        const n = txs.length;
        const lies = new Set([n, ...picks.map((p) => 1 + (p % n))]);
        const asserter = honestAsserter(txs, new Map([...lies].map((s) => [s, junk(`lie ${s}`)])));
        const out = playBisection(txs, asserter, honestChallenger(txs));
        expect(out.winner).toBe("challenger");
        // The game ends on a step from a root the asserter told truthfully to one it lied about.
        expect(lies.has(out.step) && !lies.has(out.step - 1)).toBe(true);
        expect(out.rounds.length).toBeLessThanOrEqual(rounds(n));
      }),
      { numRuns: 60 },
    );
  });

  it("a lie that equals a root the chain passes through elsewhere is still caught", () => {
    const txs = [
      { op: "mint", to: "alice", amount: 5 },
      { op: "mint", to: "bob", amount: 1 },
      { op: "transfer", from: "bob", to: "alice", amount: 1 },
    ];
    const { roots } = replay(txs);
    const out = playBisection(
      txs,
      honestAsserter(
        txs,
        new Map([
          [2, roots[1]!],
          [3, roots[1]!],
        ]),
      ),
      honestChallenger(txs),
    );
    expect(out).toMatchObject({ winner: "challenger", step: 2 });
  });

  it("an honest asserter always wins: against an honest challenger, a random disputer and a forger of reads", () => {
    fc.assert(
      fc.property(txsArb, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.boolean(), (txs, coin, forge) => {
        const honest = honestChallenger(txs);
        expect(playBisection(txs, honestAsserter(txs), honest)).toMatchObject({ winner: "asserter", step: 0 });
        let k = 0;
        const rogue: Challenger = {
          agrees: (step) => (step === txs.length ? false : coin[k++ % coin.length]!),
          witness: (step) => {
            const w = honest.witness(step);
            if (!forge || w === undefined) return w;
            return { ...w, reads: w.reads.map((r) => ({ ...r, balance: String(BigInt(r.balance) + 1000n) })) }; // claim a richer account
          },
        };
        const out = playBisection(txs, honestAsserter(txs), rogue);
        expect(out.winner).toBe("asserter");
        expect(out.rounds.length).toBeLessThanOrEqual(rounds(txs.length));
      }),
      { numRuns: 60 },
    );
  });

  it("the forged-reads refusal names why, and the game refuses moves out of turn", () => {
    const txs = [
      { op: "mint", to: "alice", amount: 5 },
      { op: "transfer", from: "alice", to: "bob", amount: 2 },
    ];
    const { roots, witness } = replay(txs);
    const g = new BisectionGame(txs, roots[0]!, junk("wrong end"));
    expect(() => g.resolve(witness(2))).toThrow(/still spans steps 0..2/);
    g.respond(roots[1]!, true);
    expect(() => g.mid).toThrow(/down to one step/);
    const w = witness(2)!;
    expect(g.resolve({ ...w, reads: [{ account: "alice", balance: "500" }, w.reads[1]!] }).reason).toMatch(/step proof is refused \(the balances read are not those under the agreed pre root\)/);
    expect(() => new BisectionGame([], roots[0]!, roots[0]!)).toThrow(FraudInputError);
  });
});

describe("challenge window", () => {
  const lost = { winner: "challenger" as const, step: 1, reason: "", rounds: [] };
  const held = { winner: "asserter" as const, step: 1, reason: "", rounds: [] };

  it("an unchallenged claim is final once the window passes; a challenge after it is refused", () => {
    const w = new ChallengeWindow(1000);
    w.assert("cp1", 0);
    expect(w.status("cp1", 999)).toBe("open");
    expect(w.status("cp1", 1000)).toBe("final");
    expect(() => w.challenge("cp1", 1000)).toThrow(/cp1 is final/);
  });

  it("a claim under challenge is not final until settled; a lost challenge leaves it final, a won one rejects it for good", () => {
    const w = new ChallengeWindow(1000);
    w.assert("a", 0);
    w.assert("b", 0);
    w.challenge("a", 500);
    w.challenge("b", 999);
    expect(w.status("a", 5000)).toBe("challenged");
    w.settle("a", held);
    expect(w.status("a", 5000)).toBe("final");
    w.settle("b", lost);
    expect(w.status("b", 5000)).toBe("rejected");
    expect(() => w.settle("b", lost)).toThrow(/no open challenge/);
    expect(() => w.assert("a", 0)).toThrow(/already asserted/);
  });
});
