// The sale path's hand checks of path parameters and bodies (runtime/escrow/transport/inputs.ts) must answer
// exactly as the zod schemas they stand in front of: the same value for every input zod accepts, the same 400
// (same words) for every input it refuses.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseInput } from "../../../../runtime/kit/index.js";
import { idParam, reservationIdOf, reserveBody, reserveQty, skuOf, skuParam } from "../../../../runtime/escrow/transport/inputs.js";
import { SKU } from "../../../../runtime/escrow/core/ids.js";

function outcome(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (e) {
    const err = e as { status?: number; error?: string; detail?: string };
    return { status: err.status, error: err.error, detail: err.detail };
  }
}

const anyValue = fc.oneof(fc.constant(undefined), fc.constant(null), fc.jsonValue(), fc.string(), fc.integer(), fc.double());
const qtyish = fc.oneof(
  fc.integer({ min: -3, max: 1003 }),
  fc.double({ min: -2, max: 1002 }),
  fc.constantFrom(0.5, 1e21, Number.NaN, Infinity, -0),
  fc.string({ maxLength: 4 }),
  fc.constant(null),
  fc.boolean(),
);

describe("escrow route inputs: the hand checks agree with zod", () => {
  it("reservation bodies (property)", () => {
    const body = fc.oneof(anyValue, fc.record({ qty: qtyish }, { requiredKeys: [] }), fc.record({ qty: qtyish, extra: anyValue }, { requiredKeys: ["extra"] }), fc.array(qtyish, { maxLength: 2 }));
    fc.assert(
      fc.property(body, (b) => {
        expect(outcome(() => reserveQty(b))).toEqual(outcome(() => parseInput(reserveBody, b, "body").qty));
      }),
      { numRuns: 2000 },
    );
    // A body whose prototype is not Object's (not what a JSON parser makes) goes to zod.
    const bare = Object.assign(Object.create(null) as object, { qty: 2 });
    expect(outcome(() => reserveQty(bare))).toEqual(outcome(() => parseInput(reserveBody, bare, "body").qty));
    expect(reserveQty(undefined)).toBe(1);
    expect(reserveQty({ qty: 1000 })).toBe(1000);
  });

  it("SKUs and reservation ids in the path (property)", () => {
    const sku = fc.oneof(fc.stringMatching(SKU), fc.string({ maxLength: 70 }), fc.string({ minLength: 60, maxLength: 70 }), anyValue);
    fc.assert(
      fc.property(sku, (s) => {
        expect(outcome(() => skuOf({ sku: s }))).toEqual(outcome(() => parseInput(skuParam, { sku: s }, "path").sku));
      }),
      { numRuns: 2000 },
    );
    const id = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ minLength: 140, maxLength: 150 }), anyValue);
    fc.assert(
      fc.property(id, (i) => {
        expect(outcome(() => reservationIdOf({ id: i }))).toEqual(outcome(() => parseInput(idParam, { id: i }, "path").id));
      }),
      { numRuns: 2000 },
    );
    expect(outcome(() => skuOf({}))).toEqual(outcome(() => parseInput(skuParam, {}, "path").sku));
    expect(outcome(() => reservationIdOf(null))).toEqual(outcome(() => parseInput(idParam, null, "path").id));
  });
});
