// Map keys of quota nodes: every node id gets a valid map key (1..32 bytes of UTF-8, no NUL), distinct ids get
// distinct keys, and an id that is already a valid key is its own key (so a tenant looks itself up by name).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { quotaMapKey } from "../../../runtime/quota/map-publisher.js";
import { treeKey } from "../../../runtime/vmap/index.js";

describe("quotaMapKey", () => {
  it("keeps valid ids, hashes the rest into valid keys, and never maps two ids to one key", () => {
    expect(quotaMapKey("acme")).toBe("acme");
    expect(quotaMapKey("x".repeat(32))).toBe("x".repeat(32));
    expect(quotaMapKey("x".repeat(33))).toMatch(/^~[0-9a-f]{31}$/);
    expect(quotaMapKey("a\0b")).toMatch(/^~[0-9a-f]{31}$/);
    // A delegation named after another node's hashed key gets a key of its own.
    const long = "y".repeat(40);
    expect(quotaMapKey(quotaMapKey(long))).not.toBe(quotaMapKey(long));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ maxLength: 60 }).map(quotaMapKey)), fc.string({ maxLength: 200 }), (a, b) => {
        if (a === "" || b === "") return;
        expect(() => treeKey(quotaMapKey(a))).not.toThrow();
        if (a !== b) expect(quotaMapKey(a)).not.toBe(quotaMapKey(b));
      }),
    );
  });
});
