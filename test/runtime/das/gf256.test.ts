/**
 * GF(2^8) known answers. The multiplication and power answers are the ones Backblaze's JavaReedSolomon
 * GaloisTest.testWithPythonAnswers checks (same field, polynomial 0x11d, generator 2); the exp-table prefix is the
 * standard 0x11d power table (e.g. QR codes' α^i); the full product and inverse tables are checked against an
 * independent shift-and-XOR multiply that never touches our log/exp tables.
 */
import { describe, expect, it } from "vitest";
import { EXP, LOG, MUL_TABLE, inv, mul, mulAddSlice, pow } from "../../../runtime/das/core/gf256.js";

/** Carry-less multiply with reduction by x^8 + x^4 + x^3 + x^2 + 1, bit by bit (the textbook definition). */
function slowMul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    b >>= 1;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
  }
  return p;
}

describe("GF(2^8)/0x11d", () => {
  it("matches Backblaze's known answers for multiply and power", () => {
    expect([mul(3, 4), mul(7, 7), mul(23, 45)]).toEqual([12, 21, 41]);
    expect([pow(2, 2), pow(5, 20), pow(13, 7)]).toEqual([4, 235, 43]);
  });

  it("has the standard power table of the generator 2", () => {
    expect([...EXP.subarray(0, 33)]).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 29, 58, 116, 232, 205, 135, 19, 38, 76, 152, 45, 90, 180, 117, 234, 201, 143, 3, 6, 12, 24, 48, 96, 192, 157]);
    expect(LOG[3]).toBe(25);
    expect(EXP[254]).toBe(142); // 2^254 = 2^-1
    // 2 generates the multiplicative group: its 255 powers are the 255 non-zero elements.
    expect(new Set(EXP.subarray(0, 255)).size).toBe(255);
  });

  it("multiplication table equals the bitwise definition for all 65,536 pairs", () => {
    let mismatches = 0;
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) if (mul(a, b) !== slowMul(a, b) || MUL_TABLE[a * 256 + b] !== slowMul(a, b)) mismatches++;
    expect(mismatches).toBe(0);
  });

  it("every non-zero element has an inverse, and 0 has none", () => {
    expect([inv(1), inv(2), inv(3)]).toEqual([1, 142, 244]);
    for (let a = 1; a < 256; a++) expect(slowMul(a, inv(a))).toBe(1);
    expect(() => inv(0)).toThrow(/no inverse/);
  });

  it("mulAddSlice XORs c·input into out", () => {
    const input = Uint8Array.from([0, 1, 2, 3, 255]);
    const out = Uint8Array.from([9, 9, 9, 9, 9]);
    mulAddSlice(7, input, out);
    expect([...out]).toEqual([...input].map((x) => 9 ^ slowMul(7, x)));
  });
});
