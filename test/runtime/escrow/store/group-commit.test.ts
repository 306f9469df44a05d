// Group commit (runtime/escrow/store/group-commit.ts), as the journaled store runs it for the Redis sale
// script and the PostgreSQL journal: items submitted in one turn of the event loop share a write, items
// arriving while writes are in flight go together in the next write, and every caller is answered with
// its own items' results only once the write that carried them is done.
import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../../../runtime/escrow/store/group-commit.js";

/** A store whose writes finish only when the test says so; each item's result is `verdict:item`. */
function heldStore(maxInFlight = 1) {
  const writes: { key: string; items: string[]; finish: (verdict: string) => void; fail: (err: Error) => void }[] = [];
  const group = new GroupCommit<string, string>(
    (key, items) => new Promise((resolve, fail) => writes.push({ key, items: [...items], finish: (v) => resolve(items.map((i) => `${v}:${i}`)), fail })),
    maxInFlight,
  );
  return { group, writes };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("GroupCommit", () => {
  it("items arriving while a write is in flight go together in the next one; each caller waits for its own write and gets its own results", async () => {
    const { group, writes } = heldStore();
    const settled: string[] = [];
    const first = group.submit("t", ["s1"]).then((r) => settled.push(...r));
    await tick();
    const others = [group.submit("t", ["s2", "s3"]), group.submit("t", ["s4"])].map((p) => p.then((r) => settled.push(r.join("+"))));
    await tick();
    expect(writes.map((w) => w.items)).toEqual([["s1"]]);
    writes[0]!.finish("ok");
    await first;
    await tick();
    // The two callers that queued behind the first write share the second; neither is answered before it completes.
    expect(writes.map((w) => w.items)).toEqual([["s1"], ["s2", "s3", "s4"]]);
    expect(settled).toEqual(["ok:s1"]);
    writes[1]!.finish("rolled-back");
    await Promise.all(others);
    expect(settled).toEqual(["ok:s1", "rolled-back:s2+rolled-back:s3", "rolled-back:s4"]);
  });

  it("a failed write rejects only the callers it carried", async () => {
    const { group, writes } = heldStore();
    const a = group.submit("t", ["a"]);
    await tick();
    const b = group.submit("t", ["b"]);
    writes[0]!.fail(new Error("connection terminated"));
    await expect(a).rejects.toThrow("connection terminated");
    await tick();
    writes[1]!.finish("ok");
    await expect(b).resolves.toEqual(["ok:b"]);
  });

  it("keys do not share writes or wait for each other", async () => {
    const { group, writes } = heldStore();
    const all = [group.submit("t/g1", ["x"]), group.submit("t/g2", ["y"])];
    await tick();
    all.push(group.submit("t/g1", ["z"]));
    await tick();
    expect(writes.map((w) => `${w.key}:${w.items.join(",")}`)).toEqual(["t/g1:x", "t/g2:y"]);
    writes[1]!.finish("stale-generation");
    writes[0]!.finish("ok");
    await tick();
    expect(writes.map((w) => `${w.key}:${w.items.join(",")}`)).toEqual(["t/g1:x", "t/g2:y", "t/g1:z"]);
    writes[2]!.finish("ok");
    expect(await Promise.all(all)).toEqual([["ok:x"], ["stale-generation:y"], ["ok:z"]]);
  });

  it("items submitted in one turn of the event loop share one write", async () => {
    const { group, writes } = heldStore(2);
    const all = ["a", "b", "c", "d"].map((id) => group.submit("t", [id]));
    await tick();
    // Submitted in one turn of the event loop: one write.
    expect(writes.map((w) => w.items)).toEqual([["a", "b", "c", "d"]]);
    writes[0]!.finish("ok");
    expect((await Promise.all(all)).flat()).toEqual(["ok:a", "ok:b", "ok:c", "ok:d"]);
  });

  it("with two writes in flight, items go out at once while fewer are out, then wait together for the next (turn by turn)", async () => {
    const { group, writes } = heldStore(2);
    const all: Promise<string[]>[] = [];
    for (const id of ["a", "b", "c", "d"]) {
      all.push(group.submit("t", [id]));
      await tick();
    }
    expect(writes.map((w) => w.items)).toEqual([["a"], ["b"]]);
    writes[0]!.finish("ok");
    await tick();
    expect(writes.map((w) => w.items)).toEqual([["a"], ["b"], ["c", "d"]]);
    writes[1]!.finish("ok");
    writes[2]!.finish("ok");
    expect((await Promise.all(all)).flat()).toEqual(["ok:a", "ok:b", "ok:c", "ok:d"]);
  });
});
