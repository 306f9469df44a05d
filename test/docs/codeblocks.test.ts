// The runner's own tests, and the docs not in codeblocks-b.test.ts (the two files run side by side).
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../cli.js";
import { shellCommands, type CodeBlock } from "./codeblocks.js";
import { DOCS, docsSuite, runShellBlock, SECOND_HALF } from "./suite.js";

describe("the runner itself", () => {
  const block = (body: string, tags: string[] = []): CodeBlock => ({ file: "synthetic.md", line: 1, lang: "sh", tags, body });
  const cwd = REPO_ROOT;

  it("splits commands as a reader types them: continuations, here-docs, comments, background jobs", () => {
    const cmds = shellCommands("# setup\necho a \\\n  b   # trailing\ncat > f <<'EOF'\nx: 1\nEOF\nsleep 9 &  # bg\n\n");
    expect(cmds.map((c) => [c.line, c.background])).toEqual([
      [2, false],
      [4, false],
      [7, true],
    ]);
    expect(cmds[1]!.text).toBe("cat > f <<'EOF'\nx: 1\nEOF");
    expect(cmds[0]!.text).toBe("echo a \\\n  b   # trailing");
  });

  it("fails a block whose command exits non-zero, naming the line", async () => {
    await expect(runShellBlock(block("true\nfalse"), cwd)).rejects.toThrow(/synthetic\.md:3: `false` failed \(exit 1\)/);
  });

  it("fails a server that does not stop on Ctrl-C", async () => {
    const stubborn = "bash -c 'trap \"\" INT; echo ready; sleep 60'";
    await expect(runShellBlock(block(stubborn, ["server"]), cwd, 1000)).rejects.toThrow(/did not stop cleanly/);
  });

  it("waits for a background command's ready line and stops it when the block ends", async () => {
    await runShellBlock(block("bash -c 'sleep 0.3; echo up; sleep 60' &\ntrue"), cwd);
  });
});

docsSuite(DOCS.filter((f) => !SECOND_HALF.includes(f)));
