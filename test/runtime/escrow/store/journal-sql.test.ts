import fc from "fast-check";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { pgArrayLiteral } from "../../../../runtime/escrow/store/journal-sql.js";

// node-postgres's own encoding of an array parameter: what the journal sent before it wrote the literals itself.
const pgEncoding = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils.prepareValue;

describe("pgArrayLiteral", () => {
  it("writes the literal node-postgres sends for the array (known answers)", () => {
    expect(pgArrayLiteral([])).toBe("{}");
    expect(pgArrayLiteral(["bench-1~tickets~0a1b2c3dz-AbCdEfGhIjKlMnOp", 'a"b\\c', ""])).toBe('{"bench-1~tickets~0a1b2c3dz-AbCdEfGhIjKlMnOp","a\\"b\\\\c",""}');
    expect(pgArrayLiteral([1, 0, -3, 1796600636663, 2 ** 53 - 1])).toBe('{"1","0","-3","1796600636663","9007199254740991"}');
    expect(pgArrayLiteral(["{x,y}", "NULL", " sp ", "ü\u{1F600}\uD800"])).toBe('{"{x,y}","NULL"," sp ","ü\u{1F600}\uD800"}');
  });

  it("is node-postgres's encoding of every array of strings and integers (a journal batch's columns)", () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom("\\", '"', ",", "{", "}", "a", " ") }), fc.string({ unit: "binary" }));
    fc.assert(
      fc.property(fc.array(text), fc.array(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.maxSafeNat())), (strings, numbers) => {
        expect(pgArrayLiteral(strings)).toBe(pgEncoding(strings));
        expect(pgArrayLiteral(numbers)).toBe(pgEncoding(numbers));
      }),
      { numRuns: 500 },
    );
  });
});
