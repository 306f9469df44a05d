// bench/lib/escrow-http.ts's goal notes (#17): with ESCROW_HTTP_SERVERS driving only some servers, the others' rows read
// 0, and "goal ≥ 3×: met" was written against a DECRBY row of 0 (escrow / 0 = Infinity ≥ 3). A goal is judged only
// between two servers that were both driven; their CPU per sale likewise reads "not driven", not "Infinity µs".
import { describe, expect, it } from "vitest";
import { goalVerdict, usPerSale } from "../../bench/lib/escrow-http.js";

describe("escrow HTTP bench: goals judged only between driven servers", () => {
  it("judges a goal met or not met when both servers were driven", () => {
    expect(goalVerdict(3_000, 1_000, 3)).toBe("met");
    expect(goalVerdict(2_999, 1_000, 3)).toBe("NOT met");
    expect(goalVerdict(7_000, 20_000, 0.35)).toBe("met");
    expect(goalVerdict(6_999, 20_000, 0.35)).toBe("NOT met");
  });

  it("never calls a goal met against a peer that was not driven (its row reads 0)", () => {
    expect(goalVerdict(3_846, 0, 3)).toBe("not judged (a server compared was not driven)");
    expect(goalVerdict(0, 5_000, 3)).toBe("not judged (a server compared was not driven)");
  });

  it("prints an undriven server's CPU per sale as not driven, not Infinity", () => {
    expect(usPerSale(5_000)).toBe("200");
    expect(usPerSale(0)).toBe("— (not driven)");
  });
});
