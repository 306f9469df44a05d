import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import { storeSuite } from "./suite.js";

storeSuite("memory", () => new MemoryStore(), 200);

describe("memory store", () => {
  it("sweeps expired states so memory follows live keys", () => {
    const store = new MemoryStore(1_000_000);
    for (let i = 0; i < 100; i++) store.decideSync([{ key: `k${i}`, limit: { algorithm: "fixed-window", limit: 5, periodMs: 1000 } }], 1, 0);
    expect(store.size).toBe(100);
    store.sweep(5000);
    expect(store.size).toBe(0);
  });
});
