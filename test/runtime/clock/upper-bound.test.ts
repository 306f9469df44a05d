// The persisted HLC upper bound: the start-up wait decision and the file store (atomic, fsync'd, hostile files).
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ClockBehindUpperBoundError, FileUpperBound, startupWait, UPPER_BOUND_FILE } from "../../../runtime/clock/upper-bound.js";

const NOW = 1_800_000_000_000_000; // µs

describe("startupWait", () => {
  it("waits until the clock passes a bound still ahead", () => {
    const w = startupWait({ kind: "bound", boundMicros: NOW + 300_000 }, NOW, 500, 250, "f");
    expect(w.untilMicros).toBe(NOW + 300_001);
    expect(w.reason).toMatch(/persisted HLC upper bound f: waiting 300 ms/);
  });

  it("waits out the max offset with no state, an unreadable file, or a bound already passed (restored snapshot)", () => {
    for (const state of [{ kind: "none" as const }, { kind: "unreadable" as const, reason: "not JSON" }, { kind: "bound" as const, boundMicros: NOW - 5_000_000 }]) {
      expect(startupWait(state, NOW, 500, 250, "f").untilMicros).toBe(NOW + 500_000);
    }
    expect(startupWait({ kind: "bound", boundMicros: NOW - 5_000_000 }, NOW, 500, 250, "f").reason).toMatch(/already passed 5000 ms ago.*restored snapshot.*max offset \(500 ms\)/);
  });

  it("refuses a bound further ahead than max offset + lead: the clock went backwards", () => {
    expect(() => startupWait({ kind: "bound", boundMicros: NOW + 3_600_000_000 }, NOW, 500, 250, "/d/hlc-upper-bound.json")).toThrow(ClockBehindUpperBoundError);
    expect(() => startupWait({ kind: "bound", boundMicros: NOW + 750_001 }, NOW, 500, 250, "f")).toThrow(/went backwards.*meridian time reset --data-dir/);
    expect(startupWait({ kind: "bound", boundMicros: NOW + 750_000 }, NOW, 500, 250, "f").untilMicros).toBe(NOW + 750_001);
  });
});

describe("FileUpperBound", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips the bound, replacing the file atomically (no temporary left behind)", () => {
    dir = mkdtempSync(join(tmpdir(), "hlc-ub-"));
    const store = new FileUpperBound(join(dir, "state"));
    expect(store.read()).toEqual({ kind: "none" });
    store.persist(NOW);
    store.persist(NOW + 1);
    expect(store.read()).toEqual({ kind: "bound", boundMicros: NOW + 1, epoch: { epoch: 0, lastReset: null } });
    expect(readdirSync(join(dir, "state"))).toEqual([UPPER_BOUND_FILE]);
  });

  it("reports a torn, hostile or foreign file as unreadable (the caller waits out max offset)", () => {
    dir = mkdtempSync(join(tmpdir(), "hlc-ub-"));
    const store = new FileUpperBound(dir);
    for (const [text, reason] of <[string, string][]>[
      ['{"upperBound', "not JSON"],
      ['{"upperBoundMicros":-1}', "no positive integer upperBoundMicros"],
      ['{"__proto__":{"upperBoundMicros":5}}', "no positive integer upperBoundMicros"],
      ["[]", "no positive integer upperBoundMicros"],
    ]) {
      writeFileSync(store.path, text);
      expect(store.read()).toEqual({ kind: "unreadable", reason });
    }
  });
});
