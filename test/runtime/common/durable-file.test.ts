import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { replaceFileDurably, writeFileDurably } from "../../../runtime/common/durable-file.js";

const dir = () => mkdtempSync(join(tmpdir(), "durable-"));

describe("durable file replacement", () => {
  it("writeFileDurably creates missing directories, replaces the content, leaves no temporary sibling and is private", () => {
    const file = join(dir(), "a", "b", "state.json");
    writeFileDurably(file, "one");
    writeFileDurably(file, "two");
    expect(readFileSync(file, "utf8")).toBe("two");
    expect(readdirSync(join(file, ".."))).toEqual(["state.json"]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("replaceFileDurably replaces text or bytes and leaves no temporary sibling", async () => {
    const d = dir();
    const file = join(d, "snapshot");
    writeFileSync(file, "old");
    await replaceFileDurably(file, "new");
    expect(readFileSync(file, "utf8")).toBe("new");
    await replaceFileDurably(file, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    expect(readdirSync(d)).toEqual(["snapshot"]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("a replacement that cannot complete leaves the old content (the rename never happened)", async () => {
    const d = dir();
    const file = join(d, "snapshot");
    writeFileSync(file, "old");
    // The target is a directory's path: the temporary is written, the rename over a non-empty directory fails.
    const blocked = join(d, "blocked");
    writeFileDurably(join(blocked, "x"), "keep");
    await expect(replaceFileDurably(blocked, "new")).rejects.toThrow();
    expect(readFileSync(join(blocked, "x"), "utf8")).toBe("keep");
    expect(readFileSync(file, "utf8")).toBe("old");
  });
});
