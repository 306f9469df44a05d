// The runner's own tests, and the docs in no group of DOC_GROUPS (suite.ts; the other codeblocks-*.test.ts run side by side).
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../cli.js";
import { scratchCheckout, shellCommands, startCommand, type CodeBlock } from "./codeblocks.js";
import { lockDocument } from "./doc-lock.js";
import { readFileSync, rmSync } from "node:fs";
import { serveInProcess } from "./in-process.js";
import { docsSuite, runShellBlock, UNGROUPED } from "./suite.js";

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

  it("runs `npx meridian` as this checkout's bin, as the real npx does in a scratch checkout", async () => {
    const scratch = scratchCheckout(cwd);
    try {
      const { version } = JSON.parse(readFileSync(`${cwd}/package.json`, "utf8")) as { version: string };
      const real = startCommand({ line: 1, text: "command npx meridian --version && type npx", background: false }, scratch);
      const shortcut = startCommand({ line: 1, text: "npx meridian --version && type npx", background: false }, scratch);
      expect((await real.exited).code, real.output()).toBe(0);
      expect((await shortcut.exited).code, shortcut.output()).toBe(0);
      expect(real.output().split("\n")[0]).toBe(version);
      expect(shortcut.output().split("\n")[0]).toBe(version);
      expect(shortcut.output()).toContain(`node "$MERIDIAN_DOCS_CHECKOUT/bin/meridian.mjs"`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("hands a block's `npx meridian …` to this process: arguments, cwd, stdin, stdout, stderr and exit status as the bin's", async () => {
    const scratch = scratchCheckout(cwd);
    const server = await serveInProcess();
    try {
      const { version } = JSON.parse(readFileSync(`${cwd}/package.json`, "utf8")) as { version: string };
      const body = [
        'test -n "$MERIDIAN_DOCS_SOCKET"',
        `npx meridian --version | grep -qx ${version}`,
        "! npx meridian no-such-command 2> err.txt",
        "grep -q \"unknown command 'no-such-command'\" err.txt",
        "npx meridian note keygen --name t.example > t.keys && head -1 t.keys > t.key && tail -1 t.keys > t.vkey",
        'printf "hello\\n" | npx meridian note sign --key t.key | npx meridian note verify --vkey "$(cat t.vkey)" | grep -qx hello',
      ].join("\n");
      await runShellBlock(block(body), scratch, 1000, server);
      await expect(runShellBlock(block("npx meridian das sample --samples 1 nowhere"), scratch, 1000, server)).rejects.toThrow(/failed \(exit 2\)\n.*commitment\.json: no such file/);
    } finally {
      await server.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("runs a document once at a time on this machine: a second run of it waits for the first to end", async () => {
    const doc = `synthetic-${process.pid}.md`;
    const first = await lockDocument(doc);
    const order: string[] = [];
    const second = lockDocument(doc).then((l) => (order.push("second holds it"), l));
    // Meanwhile the first run works (here: another document's lock taken and released); the second keeps waiting.
    await lockDocument(`${doc}-other`).then((l) => l.release());
    order.push("first releases");
    await first.release();
    await (await second).release();
    expect(order).toEqual(["first releases", "second holds it"]);
  });

  it("waits for a background command's ready line and stops it when the block ends", async () => {
    await runShellBlock(block("bash -c 'sleep 0.3; echo up; sleep 60' &\ntrue"), cwd);
  });
});

docsSuite(UNGROUPED);
