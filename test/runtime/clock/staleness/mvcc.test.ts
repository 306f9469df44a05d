import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MvccStore, ReadBelowGcThresholdError, WriteTooOldError } from "../../../../runtime/clock/staleness/mvcc.js";

const ts = (wall: number, logical = 0) => ({ wall, logical });

describe("MvccStore", () => {
  it("reads the newest version at or below the read timestamp; tombstones hide", () => {
    const s = new MvccStore();
    s.put("k", "a", ts(10));
    s.put("k", "b", ts(20));
    s.put("k", null, ts(30));
    expect(s.get("k", ts(9))).toBeNull();
    expect(s.get("k", ts(10))?.value).toBe("a");
    expect(s.get("k", ts(25))?.value).toBe("b");
    expect(s.get("k", ts(30))).toBeNull();
    expect(() => s.put("k", "c", ts(30))).toThrow(WriteTooOldError);
  });

  it("property: GC never changes a read at or above the threshold, and refuses reads below it", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom("x", "y"), value: fc.option(fc.string({ maxLength: 2 })), step: fc.integer({ min: 1, max: 5 }) }), { maxLength: 40 }),
        fc.integer({ min: 0, max: 200 }),
        (writes, gcAt) => {
          const s = new MvccStore();
          let wall = 0;
          for (const w of writes) s.put(w.key, w.value, ts((wall += w.step)));
          const before = (t: number) => ["x", "y"].map((k) => s.get(k, ts(t))?.value ?? null);
          const expected = Array.from({ length: 60 }, (_, i) => before(gcAt + i));
          const removedBefore = s.versionCount;
          s.gc(ts(gcAt));
          expect(s.versionCount).toBeLessThanOrEqual(removedBefore);
          expect(Array.from({ length: 60 }, (_, i) => before(gcAt + i))).toEqual(expected);
          if (gcAt > 0) expect(() => s.get("x", ts(gcAt - 1))).toThrow(ReadBelowGcThresholdError);
        },
      ),
      { numRuns: 200 },
    );
  });
});
