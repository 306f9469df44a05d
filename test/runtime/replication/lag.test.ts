import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { copyLag } from "../../../runtime/replication/lag.js";

describe("copyLag", () => {
  it("is ok exactly when the lag is within the bound; the lag is never negative", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: -60_000, max: 600_000 }), fc.integer({ min: 1, max: 600_000 }), (now, behind, max) => {
        const l = copyLag("w", now, now - behind, max);
        expect(l.lagMs).toBe(Math.max(0, behind));
        expect(l.ok).toBe(Math.max(0, behind) <= max);
      }),
    );
  });

  it("no stamp yet, or an unreadable copy, is not ok and says which", () => {
    expect(copyLag("aws-use1", 10, null, 5)).toEqual({ writer: "aws-use1", lagMs: null, ok: false, reason: "no heartbeat from aws-use1 has reached this copy yet" });
    expect(copyLag("aws-use1", 10, 9, 5, "connect ECONNREFUSED")).toMatchObject({ ok: false, reason: "copy of aws-use1 unreadable: connect ECONNREFUSED" });
    expect(copyLag("aws-use1", 12_500, 0, 2000).reason).toBe("copy of aws-use1 is 12.5 s behind (bound 2 s)");
  });
});
