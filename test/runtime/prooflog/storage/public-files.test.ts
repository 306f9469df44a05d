// The file store's unsynced public writes: descriptors kept open until the flush are bounded, and every one is
// closed by the flush (or by close), whatever the number of files written between syncs.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DirtyFiles } from "../../../../runtime/prooflog/storage/public-files.js";

const openFds = () => readdirSync("/proc/self/fd").length;

describe.runIf(process.platform === "linux")("file store public writes", () => {
  it("keeps at most 256 descriptors open between syncs, writes every file whole, and closes them all at flush and close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "public-files-"));
    try {
      const before = openFds();
      const dirty = new DirtyFiles();
      const files = Array.from({ length: 600 }, (_, i) => join(dir, "tile", String(i % 7), `${i}`));
      await Promise.all(files.map((f, i) => dirty.write(f, Buffer.alloc(8192 + i, i & 255))));
      await dirty.write(files[0]!, Buffer.from("rewritten")); // a file written twice before the flush: one descriptor
      expect(dirty.size).toBe(600);
      expect(openFds() - before).toBeLessThanOrEqual(256);
      await dirty.flush();
      expect(dirty.size).toBe(0);
      expect(openFds()).toBe(before);
      expect(readFileSync(files[0]!, "utf8")).toBe("rewritten");
      files.slice(1).forEach((f, k) => expect(readFileSync(f).equals(Buffer.alloc(8192 + k + 1, (k + 1) & 255))).toBe(true));
      await dirty.write(join(dir, "tile", "late"), Buffer.from("x"));
      await dirty.close();
      expect(openFds()).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
