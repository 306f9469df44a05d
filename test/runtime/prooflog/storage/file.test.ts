import { describe, expect, it } from "vitest";
import { appendFileSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../../../runtime/prooflog/storage/file.js";

async function reopen(dir: string) {
  const store = new FileStore(dir);
  const seen: string[] = [];
  const r = await store.open((e) => seen.push(Buffer.from(e).toString()));
  return { store, seen, ...r };
}

describe("embedded file store", () => {
  it("replays entries in order, reads ranges, and keeps the checkpoint across reopen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "filestore-"));
    const a = await reopen(dir);
    expect(a.size).toBe(0);
    await a.store.append([Buffer.from("a"), Buffer.from("bb")], 0);
    await a.store.append([Buffer.from("ccc")], 2);
    await expect(a.store.append([Buffer.from("x")], 7)).rejects.toThrow(/append at 7/);
    await a.store.saveCheckpoint("cp\n");
    expect((await a.store.readEntries(1, 3)).map((e) => Buffer.from(e).toString())).toEqual(["bb", "ccc"]);
    await a.store.close();
    const b = await reopen(dir);
    expect([b.size, b.seen, b.checkpoint]).toEqual([3, ["a", "bb", "ccc"], "cp\n"]);
    await b.store.close();
  });

  it("truncates a torn or corrupt tail left by a crash and appends after it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "filestore-"));
    const a = await reopen(dir);
    await a.store.append([Buffer.from("one"), Buffer.from("two")], 0);
    await a.store.close();
    const good = statSync(join(dir, "entries")).size;
    appendFileSync(join(dir, "entries"), Buffer.from([0, 0, 0, 9, 1, 2, 3, 4, 5])); // header promises 9 bytes, 1 written
    const b = await reopen(dir);
    expect([b.size, b.seen]).toEqual([2, ["one", "two"]]);
    expect(statSync(join(dir, "entries")).size).toBe(good);
    await b.store.append([Buffer.from("three")], 2);
    await b.store.close();
    // Flip a byte inside the last record: its CRC no longer matches, so it is cut.
    const bytes = readFileSync(join(dir, "entries"));
    bytes[bytes.length - 1]! ^= 0xff;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "entries"), bytes);
    const c = await reopen(dir);
    expect(c.seen).toEqual(["one", "two"]);
    await c.store.close();
  });
});

describe("data directory lock", () => {
  it("refuses a second open while one is live, and takes over a lock left by a dead process", async () => {
    const { writeFileSync } = await import("node:fs");
    const dir = mkdtempSync(join(tmpdir(), "filestore-lock-"));
    const a = await reopen(dir);
    await expect(reopen(dir)).rejects.toThrow(/already open/);
    await a.store.close();
    writeFileSync(join(dir, "LOCK"), "1\n"); // pid 1 is alive (init): someone else holds it
    await expect(reopen(dir)).rejects.toThrow(/in use by process 1/);
    writeFileSync(join(dir, "LOCK"), "999999999\n"); // no such process: a crashed owner
    const b = await reopen(dir);
    await b.store.close();
  });
});
