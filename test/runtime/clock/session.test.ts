// Session tokens: read-your-writes and monotonic reads across two regions' clocks.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { HybridClock } from "../../../runtime/clock/hlc.js";
import { SessionTokenError, SessionTokens } from "../../../runtime/clock/session.js";
import { lessEq } from "../../../runtime/clock/timestamp.js";

const tokens = new SessionTokens("0123456789abcdef-session-secret");

describe("SessionTokens", () => {
  it("round-trips and advances to the later timestamp only", () => {
    const t = tokens.issue({ wall: 10, logical: 2 });
    expect(tokens.verify(t)).toEqual({ wall: 10, logical: 2 });
    expect(tokens.verify(tokens.advance(t, { wall: 9, logical: 9 }))).toEqual({ wall: 10, logical: 2 });
    expect(tokens.verify(tokens.advance(t, { wall: 10, logical: 3 }))).toEqual({ wall: 10, logical: 3 });
    expect(tokens.verify(tokens.advance(null, { wall: 1, logical: 0 }))).toEqual({ wall: 1, logical: 0 });
  });

  it("refuses forged, tampered and malformed tokens", () => {
    const t = tokens.issue({ wall: 10, logical: 2 });
    expect(() => tokens.verify(t.replace("v1.10.", "v1.99."))).toThrow(/signature/);
    expect(() => new SessionTokens("another-secret-of-16+").verify(t)).toThrow(SessionTokenError);
    expect(() => tokens.verify("garbage")).toThrow(/not a v1 token/);
    expect(() => new SessionTokens("short")).toThrow(RangeError);
  });

  it("a write in a fast region then a read in a slow region reads at or after the write", () => {
    const base = 1_700_000_000_000;
    const east = new HybridClock({ clock: new ManualClock(base + 150), maxOffsetMs: 500 });
    const west = new HybridClock({ clock: new ManualClock(base), maxOffsetMs: 500 });
    const written = east.now();
    const token = tokens.advance(null, written);
    // The west server forwards its clock to the token before choosing a read timestamp.
    west.updateAndCheckMaxOffset(tokens.verify(token));
    const readAt = west.now();
    expect(lessEq(written, readAt)).toBe(true);
    const next = tokens.advance(token, readAt);
    expect(lessEq(readAt, tokens.verify(next))).toBe(true);
  });
});
