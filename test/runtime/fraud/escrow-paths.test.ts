/**
 * The escrow sequencer's cheaper paths agree with the checks and state they stand for (runtime/fraud/escrow-*.ts):
 * `checkEscrowFields` (what the transition log's own txs get, `submitBuilt`) refuses exactly what `parseEscrowTx`
 * refuses on a tx of the right shape, with the same reason; counts beyond 15 digits, and sums beyond 2^53, stay
 * exact decimals; and the state's cache of recent leaves follows a write made to its tree from outside (a restore's).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buyerOf, checkEscrowFields, EscrowSequencer, executeEscrow, freeKey, parseEscrowTx, smtKey, type EscrowTx } from "../../../runtime/fraud/index.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/index.js";

const OPS = ["refill", "debit", "reserve", "commit", "cancel", "expire", "void", "refund"] as const;
const FIELDS: Record<(typeof OPS)[number], string[]> = {
  refill: ["qty"],
  debit: ["qty"],
  reserve: ["id", "buyer", "qty", "expiresAt"],
  commit: ["id", "buyer"],
  cancel: ["id", "buyer"],
  expire: ["id", "at"],
  void: ["id"],
  refund: ["id"],
};

describe("the escrow sequencer's fast paths", () => {
  it("property: checkEscrowFields refuses what parseEscrowTx refuses on a tx of its op's fields, for the same reason", () => {
    const name = fc.oneof(fc.constantFrom("a", "sku-1", "x".repeat(128), "x".repeat(129), "", "a b", "é", '"\\'), fc.string({ maxLength: 8 }));
    const num = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1.5, Number.MAX_SAFE_INTEGER, 2 ** 53, NaN, Infinity), fc.constant("1" as unknown as number));
    const buyer = fc.oneof(fc.constant(buyerOf("u")), fc.constant("A".repeat(64)), fc.string({ maxLength: 70 }));
    fc.assert(
      fc.property(fc.constantFrom(...OPS), name, name, name, buyer, num, num, (op, sku, region, id, b, qty, t) => {
        const all: Record<string, unknown> = { id, buyer: b, qty, expiresAt: t, at: t };
        const tx = Object.fromEntries([["op", op], ["sku", sku], ["region", region], ...FIELDS[op].map((f) => [f, all[f]])]) as EscrowTx;
        const parsed = parseEscrowTx(tx);
        expect(checkEscrowFields(tx)).toBe(typeof parsed === "string" ? parsed : undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it("counts stay exact past 15 digits and past 2^53", () => {
    const free = freeKey("s", "r");
    const step = (v: string, tx: EscrowTx) => executeEscrow(tx, new Map([[free, v]])) as Map<string, string | undefined>;
    const refill = (qty: number): EscrowTx => ({ op: "refill", sku: "s", region: "r", qty });
    expect(step("9007199254740993", refill(1)).get(free)).toBe("9007199254740994");
    expect(step("999999999999999", refill(Number.MAX_SAFE_INTEGER)).get(free)).toBe((999999999999999n + BigInt(Number.MAX_SAFE_INTEGER)).toString());
    expect(step("1234567890123456789012345", { op: "debit", sku: "s", region: "r", qty: 5 }).get(free)).toBe("1234567890123456789012340");
    expect(step("5", { op: "debit", sku: "s", region: "r", qty: 5 }).get(free)).toBeUndefined();
    expect(executeEscrow({ op: "debit", sku: "s", region: "r", qty: 6 }, new Map([[free, "5"]]))).toBe("oversell: r has 5 free units of s, debit takes 6");
    expect(executeEscrow(refill(1), new Map([[free, "07"]]))).toBe(`leaf ${free} holds "07", not a count`);
  });

  it("the state's recent leaves follow a write to its tree from outside", () => {
    const key = generateKey("paths");
    const seq = new EscrowSequencer("paths", newSigner(key.signerKey));
    seq.submit({ op: "refill", sku: "s", region: "r", qty: 5 });
    expect(seq.state.read(freeKey("s", "r"))).toBe("5");
    seq.state.tree.setMany([[smtKey(freeKey("s", "r")), Buffer.from("2")]]); // as a restore writes its leaves
    expect(seq.state.read(freeKey("s", "r"))).toBe("2");
    expect(() => seq.submit({ op: "debit", sku: "s", region: "r", qty: 3 })).toThrow("oversell: r has 2 free units");
    seq.submit({ op: "debit", sku: "s", region: "r", qty: 2 });
    expect(seq.state.read(freeKey("s", "r"))).toBeUndefined();
  });
});
