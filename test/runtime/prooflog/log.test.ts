import { describe, expect, it } from "vitest";
import { LogUnavailableError, TransparencyLog } from "../../../runtime/prooflog/log.js";
import { MemoryStore } from "../../../runtime/prooflog/storage/store.js";
import { generateKey, newSigner, newVerifier } from "../../../runtime/prooflog/note.js";
import { openCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";

const keys = generateKey("meridian.test/log");
const open = (store = new MemoryStore(), dedupeCapacity?: number) => TransparencyLog.open({ origin: "meridian.test/log", signer: newSigner(keys.signerKey), store, dedupeCapacity, maxBatch: 3 });

describe("sequencer", () => {
  it("assigns consecutive indices across batches and publishes checkpoints only for durable sizes", async () => {
    const log = await open();
    const r = await Promise.all(["a", "b", "c", "d", "e"].map((s) => log.add(Buffer.from(s))));
    expect(r.map((x) => x.index)).toEqual([0, 1, 2, 3, 4]);
    const cp = openCheckpoint(await log.publishCheckpoint(), [newVerifier(keys.verifierKey)], "meridian.test/log").checkpoint;
    expect(cp.size).toBe(5);
    expect(log.indexOf(leafHash(Buffer.from("c")))).toBe(2);
    expect(log.indexOf(leafHash(Buffer.from("zz")))).toBeUndefined();
  });

  it("entries appended in one turn of the event loop share one commit (group commit)", async () => {
    const sizes: number[] = [];
    class Counting extends MemoryStore {
      override async commit(c: Parameters<MemoryStore["commit"]>[0]): Promise<void> {
        sizes.push(c.entries.length);
        await super.commit(c);
      }
    }
    const log = await TransparencyLog.open({ origin: "meridian.test/log", signer: newSigner(keys.signerKey), store: new Counting(), maxBatch: 100 });
    const before = sizes.length;
    const appended = Array.from({ length: 40 }, (_, i) => log.append(Buffer.from(`turn-${i}`)));
    await Promise.all(appended.map((a) => a.durable));
    // Kicking the store from the first append made a batch of one, then the rest: [1, 39].
    expect(sizes.slice(before)).toEqual([40]);
    await log.close();
  });

  it("answers duplicates, queued or durable, with the original index; with dedupe off they are logged again", async () => {
    const log = await open();
    const [a, dup] = await Promise.all([log.add(Buffer.from("x")), log.add(Buffer.from("x"))]);
    expect([a, dup]).toEqual([
      { index: 0, duplicate: false },
      { index: 0, duplicate: true },
    ]);
    expect(await log.add(Buffer.from("x"))).toEqual({ index: 0, duplicate: true });
    const plain = await open(new MemoryStore(), 0);
    expect((await Promise.all([plain.add(Buffer.from("x")), plain.add(Buffer.from("x"))])).map((r) => r.index)).toEqual([0, 1]);
  });

  it("keeps a bounded window in memory; an entry evicted from it is still found in the store's persistent index", async () => {
    const log = await open(new MemoryStore(), 40);
    for (let i = 0; i < 200; i++) await log.add(Buffer.from(`w${i}`));
    expect(await log.add(Buffer.from("w199"))).toEqual({ index: 199, duplicate: true });
    expect(log.indexOf(leafHash(Buffer.from("w0")))).toBeUndefined(); // long evicted from the window
    expect(await log.add(Buffer.from("w0"))).toEqual({ index: 0, duplicate: true });
    expect(await log.find(leafHash(Buffer.from("w1")))).toBe(1);
    expect(log.size).toBe(200);
  });

  it("rejects empty and oversized entries, and refuses writes after a storage failure without acknowledging", async () => {
    const store = new MemoryStore();
    const log = await open(store);
    await expect(log.add(new Uint8Array())).rejects.toThrow(/empty/);
    await expect(log.add(new Uint8Array(70_000))).rejects.toThrow(/limit is 65535/);
    await log.add(Buffer.from("ok"));
    store.commit = async () => {
      throw new Error("disk full");
    };
    const results = await Promise.allSettled([log.add(Buffer.from("1")), log.add(Buffer.from("2"))]);
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof LogUnavailableError)).toBe(true);
    await expect(log.add(Buffer.from("3"))).rejects.toThrow(/storage failed/);
    expect(log.size).toBe(1);
  });
});
