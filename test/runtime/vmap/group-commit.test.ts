// Group commit (runtime/vmap/group-commit.ts): writers whose requests arrive while a batch is in flight share the
// next batch. Tries to break it with every interleaving fast-check's scheduler can find of submissions, batch
// completions and batch failures: the acknowledged writes, applied one writer at a time in acknowledged order,
// must give every acknowledged root and the final root; a failed batch must leave nothing behind; no writer is
// answered before its batch is durable, and the bounds hold.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { entryBytesOf, GroupCommitter, MapError, Overloaded, TooLargeForBatch, validateWrites, VerifiableMap, type MapWrite } from "../../../runtime/vmap/index.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const key = fc.constantFrom("a", "b", "c", "acct:1", "acct:2", "x".repeat(33)); // the last is too long: refused alone
const write = fc.tuple(key, fc.option(fc.uint8Array({ minLength: 1, maxLength: 3 }), { nil: null })) as fc.Arbitrary<MapWrite>;

describe("group commit", () => {
  it("any interleaving of concurrent writers gives the roots of applying them one at a time in acknowledged order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.array(write, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 14 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), // which batches the "log" refuses
        fc.integer({ min: 1, max: 6 }), // writes per batch
        async (s, requests, failures, maxWrites) => {
          const map = new VerifiableMap("m");
          let batches = 0;
          let durable = 0; // revisions whose batch is "durable" (committed); no answer may name a later one
          const committer = new GroupCommitter(
            async (writes) => {
              const refuse = failures[batches++ % failures.length]!;
              expect(writes.length).toBeLessThanOrEqual(Math.max(maxWrites, 3));
              const staged = map.stage(writes);
              await s.schedule(Promise.resolve(), "log + store"); // the append and the fsync, completing in any order vs submissions
              if (refuse) throw new Error("log refused");
              map.commit(staged);
              durable = staged.revision;
              return { revision: staged.revision, root: hex(staged.root) };
            },
            { maxWrites: Math.max(maxWrites, 3), maxBytes: 1 << 20, maxQueued: 1000 },
          );
          type Answer = { seq: number; writes: MapWrite[]; revision: number; root: string } | { seq: number; refused: string };
          const answers: Promise<Answer>[] = [];
          let seq = 0;
          // Writers arrive at scheduler-chosen moments, interleaved with batch completions.
          for (const writes of requests)
            answers.push(
              s.schedule(Promise.resolve(), "writer arrives").then(async (): Promise<Answer> => {
                const at = seq++;
                try {
                  validateWrites(writes); // per request, before it joins a batch (as the service does)
                } catch (e) {
                  expect(e).toBeInstanceOf(MapError);
                  return { seq: at, refused: "invalid" };
                }
                try {
                  const a = await committer.submit(writes, entryBytesOf(writes));
                  expect(a.revision).toBeLessThanOrEqual(durable); // answered only once its batch is durable
                  return { seq: at, writes, ...a };
                } catch (e) {
                  return { seq: at, refused: (e as Error).message };
                }
              }),
            );
          await s.waitFor(Promise.all(answers));
          await committer.idle();
          const got = await Promise.all(answers);
          const acked = got.filter((a): a is Extract<Answer, { root: string }> => "root" in a).sort((x, y) => x.revision - y.revision || x.seq - y.seq);
          // Sequentially, in acknowledged order (revision, then arrival): each revision's last writer reproduces its root.
          const model = new VerifiableMap("m");
          acked.forEach((a, i) => {
            model.apply(a.writes);
            if (acked[i + 1]?.revision !== a.revision) expect(hex(model.root())).toBe(a.root);
          });
          expect(hex(model.root())).toBe(hex(map.root()));
          expect(map.revision).toBe(new Set(acked.map((a) => a.revision)).size);
          // An invalid request is refused alone; it never fails a batch it would have shared.
          for (const a of got) if ("refused" in a && a.refused !== "invalid") expect(a.refused).toBe("log refused");
          expect(got.filter((a) => "refused" in a && a.refused === "invalid").length).toBe(requests.filter((r) => r.some(([k]) => k.length > 32)).length);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a key written twice in one batch keeps the value that arrived last", async () => {
    let release!: () => void;
    const map = new VerifiableMap("m");
    const batchesSeen: MapWrite[][] = [];
    const c = new GroupCommitter(
      async (writes) => {
        batchesSeen.push(writes);
        const e = map.stage(writes);
        if (batchesSeen.length === 1) await new Promise<void>((r) => (release = r)); // the first batch is in flight
        map.commit(e);
        return e.revision;
      },
      { maxWrites: 1000, maxBytes: 1 << 20, maxQueued: 1000 },
    );
    const first = c.submit([["k", Buffer.from("0")]], 10);
    const later = ["1", "2", "3"].map((v) => c.submit([["k", Buffer.from(v)]], 10));
    release();
    expect(await first).toBe(1);
    expect(await Promise.all(later)).toEqual([2, 2, 2]); // one batch, one revision for the three
    expect(batchesSeen.map((b) => b.length)).toEqual([1, 3]);
    expect(Buffer.from(map.get("k")!).toString()).toBe("3");
  });

  it("bounds the batch and the queue: too large is refused alone, a full queue is refused at once with a retry hint", async () => {
    let release!: () => void;
    const sizes: number[] = [];
    const c = new GroupCommitter(
      async (writes) => {
        sizes.push(writes.length);
        if (sizes.length === 1) await new Promise<void>((r) => (release = r));
        return sizes.length;
      },
      { maxWrites: 1000, maxBytes: 5000, maxQueued: 1500 },
    );
    const ws = (n: number): MapWrite[] => Array.from({ length: n }, (_, i) => [`k${i}`, null]);
    expect(() => c.submit(ws(1001), 10)).toThrow(TooLargeForBatch);
    expect(() => c.submit(ws(1), 5001)).toThrow(TooLargeForBatch);
    const inFlight = c.submit(ws(600), 100);
    const queued = [c.submit(ws(600), 100), c.submit(ws(600), 100)];
    expect(c.depth).toBe(1200);
    let over: unknown;
    try {
      void c.submit(ws(400), 100);
    } catch (e) {
      over = e;
    }
    expect(over).toBeInstanceOf(Overloaded);
    expect((over as Overloaded).retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(c.depth).toBe(1200); // the refused writer took no room
    release();
    expect(await inFlight).toBe(1);
    expect(await Promise.all(queued)).toEqual([2, 3]); // 1200 writes do not fit one batch of 1000: a writer is never split
    expect(sizes).toEqual([600, 600, 600]);
    expect(await c.submit(ws(1), 10)).toBe(4);
  });
});
