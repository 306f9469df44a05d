/**
 * The runner for the docs' code blocks. Every shell block in README.md and docs/*.md runs as written (the convention is in docs/README.md):
 *   ```sh          each command runs in turn in a fresh shell (no shell variables carry over) and must exit 0; `… &` waits for the
 *                  command's first line of output (its ready line) and stops it (Ctrl-C) when the block ends
 *   ```sh server   the same, and a foreground command still running after its first line is a server:
 *                  ready, kept running, and it must exit cleanly on Ctrl-C when the block ends
 *   ```sh pulumi   needs the Pulumi CLI, cloud credentials or a cluster: `bash -n`, then every meridian command runs
 *   ```sh ci       the checkout's own lifecycle (npm ci / npm test): `bash -n`, and each npm script must exist
 *   ```sh network  needs the public internet (container registries): `bash -n`, and every meridian command in it must
 *                  exist with every `--option` it passes (its `--help` lists them)
 * A document's blocks share one scratch directory that looks like the checkout, in order, so files one block
 * writes (keys, data directories) are there for the next.
 *
 * The documents are split over several test files so the two vitest workers run them side by side and no one file
 * holds up the end of the run; documents that use the same fixed port must be in the same file. A block of
 * `npx meridian drill …` commands alone (an estate of its own on free ports) runs beside the blocks after it
 * (runsBeside).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { lockDocument, type DocLock } from "./doc-lock.js";
import { CLIENT, serveInProcess, type InProcessServer } from "./in-process.js";
import { codeBlocks, interrupt, isShell, readyOrExit, scratchCheckout, shellCommands, startCommand, type CodeBlock, type Started } from "./codeblocks.js";

export const DOCS = [
  "README.md",
  ...readdirSync(join(REPO_ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
/**
 * The documents each codeblocks-<name>.test.ts runs; the rest run in codeblocks.test.ts. "b" share fixed ports
 * among themselves (8081: README, time) or are slow (ratelimit.md; README's loss drill runs beside the file, see
 * runsBeside); "c" are the documents that plan an estate (cost.md plans prod three times and workloads.md once more,
 * deploy.md plans staging: in c's process, which loads the Pulumi SDK once and evaluates each unchanged stack once,
 * test/plan-memo.ts) and pki.md (15443 and 18471; workloads.md 18581–18583 are theirs alone); trust.md (18231–18242,
 * swtpm 23210) with prooflog.md (18080), and proofs.md (18095, 18461–18463), use ports no other document does. In
 * CI on 4d2f7cf (a file's seconds) b was 45 s, c 34 s (prooflog.md ~15 s of it), trust 12 s, proofs 17 s.
 */
export const DOC_GROUPS = {
  b: ["README.md", "docs/time.md", "docs/ratelimit.md"],
  c: ["docs/cost.md", "docs/pki.md", "docs/deploy.md", "docs/workloads.md"],
  trust: ["docs/trust.md", "docs/prooflog.md"],
  proofs: ["docs/proofs.md"],
} as const satisfies Record<string, readonly string[]>;
/** The documents in no group: codeblocks.test.ts. */
export const UNGROUPED: readonly string[] = DOCS.filter((f) => !Object.values(DOC_GROUPS).some((g: readonly string[]) => g.includes(f)));
const TAGS = new Set(["server", "pulumi", "ci", "network"]);
const COMMAND_TIMEOUT_MS = 90_000;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
const KILLED_DRAIN_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long a document waits for another checkout's run of it to end (its blocks take up to 300 s each). */
const DOC_LOCK_WAIT_MS = 20 * 60_000;
/** A meridian invocation in the documented forms (`npx meridian …`, `npm run -s meridian -- …`). */
const MERIDIAN = /\b(npx meridian|npm run -s meridian --)\s/;
/** The commands that plan an estate offline. */
const PLANS = /\b(npx meridian|npm run -s meridian --)\s+(plan|cost|images|dns export|dns diff|traffic)\b/;

const tail = (s: string) => s.trimEnd().split("\n").slice(-30).join("\n");
const where = (b: CodeBlock, line = 1) => `${b.file}:${b.line + line}`;

/**
 * A lone `&` (not `&&`, `2>&1`, `&>`, `|&`): the command leaves something running in the background, which must be a
 * process of its own (its `$!`, its Ctrl-C).
 */
const BACKGROUND_INSIDE = /(^|[^&<>|])&(?![&>])/;

/**
 * Run a shell block. With `inProcess`, the `npx meridian …` of each command that ends by itself (foreground, no
 * `&` inside, not in a `sh server` block) runs in this process (test/docs/in-process.ts); the rest as processes.
 */
export async function runShellBlock(block: CodeBlock, cwd: string, stopGraceMs = STOP_GRACE_MS, inProcess?: InProcessServer): Promise<void> {
  const running: Started[] = [];
  const killed: Promise<unknown>[] = [];
  let failure: unknown;
  try {
    await runCommands(block, cwd, running, inProcess, killed);
  } catch (err) {
    failure = err;
  }
  // A block that stops its own server (`kill PID`) leaves it draining: let it finish before the Ctrl-C, which it would
  // take as a second signal (exit now, without the drain). Only the server it stopped: the others it leaves running
  // exit on the Ctrl-C alone.
  if (!failure && killed.length > 0) await Promise.race([Promise.all(killed), sleep(KILLED_DRAIN_MS)]);
  // Ctrl-C every server the block started, last first, and require a clean exit.
  const problems: string[] = [];
  for (const s of running.reverse()) {
    const r = await interrupt(s, stopGraceMs);
    const clean = !r.forced && (r.code === 0 || r.code === 130 || r.signal === "SIGINT");
    if (!clean)
      problems.push(
        `${where(block, s.command.line)}: \`${s.command.text}\` did not stop cleanly on Ctrl-C (${r.forced ? "killed after the grace period" : `exit ${r.code ?? r.signal}`})\n${tail(s.output())}`,
      );
  }
  if (failure) throw failure;
  if (problems.length > 0) throw new Error(problems.join("\n"));
}

/** Resolves when the first of `started` exits. */
const firstExit = (started: Started[]) => Promise.race(started.map((s) => s.exited));
const hasExited = (s: Started) => s.child.exitCode !== null || s.child.signalCode !== null;

/**
 * Run a block's commands in turn; `running` gets the servers and background commands left running. For each `kill …`
 * command, `killed` gets the exit of one of the servers still running when it ran (the one it stopped).
 */
async function runCommands(block: CodeBlock, cwd: string, running: Started[], inProcess?: InProcessServer, killed: Promise<unknown>[] = []): Promise<void> {
  const servers = block.tags.includes("server");
  for (const command of shellCommands(block.body)) {
    const live = running.filter((s) => !hasExited(s));
    if (/^\s*kill\s/.test(command.text) && live.length > 0) killed.push(firstExit(live));
    const ends = !servers && !command.background && !BACKGROUND_INSIDE.test(command.text);
    const started = startCommand(command, cwd, ends && inProcess ? { socket: inProcess.socket, client: CLIENT } : undefined);
    const at = where(block, command.line);
    if (command.background || servers) {
      const how = await readyOrExit(started, command.background ? READY_TIMEOUT_MS : COMMAND_TIMEOUT_MS);
      if (how === "ready") {
        running.push(started);
        continue;
      }
      if (how === "timeout") {
        await interrupt(started, 1000);
        throw new Error(`${at}: \`${command.text}\` printed no ready line within ${READY_TIMEOUT_MS / 1000} s\n${tail(started.output())}`);
      }
      if (command.background) throw new Error(`${at}: background \`${command.text}\` exited before its ready line\n${tail(started.output())}`);
    }
    const timer = setTimeout(() => void interrupt(started, 1000), COMMAND_TIMEOUT_MS);
    const { code, signal } = await started.exited;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`${at}: \`${command.text}\` failed (exit ${code ?? signal})\n${tail(started.output())}`);
  }
}

/** `npx meridian drill …` (test/docs: a block of these alone runs beside the document's other blocks). */
const DRILL = /^\s*(npx meridian|npm run -s meridian --)\s+drill\s[^&|;<>`$]*$/;
const runsBeside = (b: CodeBlock) => {
  const commands = shellCommands(b.body);
  return b.tags.length === 0 && commands.length > 0 && commands.every((c) => DRILL.test(c.text));
};

/**
 * Examples use fixed ports, and this machine is shared: a block that failed only because another program
 * held its port at that moment is run once more, a few seconds later.
 */
async function withPortRetry(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (!/EADDRINUSE|already in use/.test((err as Error).message)) throw err;
    await sleep(3000);
    await run();
  }
}

function bashSyntax(block: CodeBlock): void {
  execFileSync("bash", ["-n", "-c", block.body], { stdio: "pipe" });
}

async function runOfflineParts(block: CodeBlock, cwd: string, inProcess?: InProcessServer): Promise<void> {
  bashSyntax(block);
  const meridian = shellCommands(block.body).filter((c) => MERIDIAN.test(c.text));
  await runShellBlock({ ...block, tags: [], body: meridian.map((c) => c.text).join("\n") }, cwd, STOP_GRACE_MS, inProcess);
}

function checkCiBlock(block: CodeBlock): void {
  bashSyntax(block);
  const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  for (const c of shellCommands(block.body)) {
    const npm = /^\s*npm\s+(?:run\s+(?:-s\s+)?)?([a-z:-]+)/.exec(c.text);
    expect(npm, `${where(block, c.line)}: a \`sh ci\` block holds npm commands only: ${c.text}`).not.toBeNull();
    const script = npm![1]!;
    expect(["ci", "install"].includes(script) || script in scripts, `${where(block, c.line)}: no npm script "${script}"`).toBe(true);
  }
}

/** A block that needs the internet: what CI can check offline is that each meridian command and its options exist. */
async function checkNetworkBlock(block: CodeBlock): Promise<void> {
  bashSyntax(block);
  for (const c of shellCommands(block.body).filter((c) => MERIDIAN.test(c.text))) {
    const words = c.text.slice(c.text.search(MERIDIAN)).replace(MERIDIAN, "").trim().split(/\s+/);
    const end = words.findIndex((w) => !/^[a-z][a-z-]*$/.test(w));
    const path = end === -1 ? words : words.slice(0, end);
    const help = await runCliInProcess([...path, "--help"]);
    expect(help.status, `${where(block, c.line)}: \`meridian ${path.join(" ")} --help\` failed\n${help.stderr}`).toBe(0);
    for (const flag of words.filter((w) => /^--?[a-z]/.test(w)).map((w) => w.split("=")[0]!)) {
      expect(help.stdout, `${where(block, c.line)}: \`meridian ${path.join(" ")}\` has no option ${flag}`).toMatch(new RegExp(`(^|[\\s,])${flag}([\\s,]|$)`, "m"));
    }
  }
}

/**
 * `sideBySide`: the documents run at the same time, each its blocks in order (for documents with no fixed port, schema
 * or file in common; their commands in this process still take turns, test/cli-in-process.ts).
 */
export function docsSuite(files: readonly string[], { sideBySide = false } = {}): void {
  describe("docs code blocks", () => {
    const all = files.flatMap((file) => codeBlocks(file, readFileSync(join(REPO_ROOT, file), "utf8")));
    let inProcess: InProcessServer | undefined;
    // A drill's block (every command `npx meridian drill …`) starts its own estate on free ports and writes nothing to
    // the checkout (README: "it runs beside `npm start`"): it leaves nothing for its document's later blocks and holds
    // no fixed port. It starts in its place (when the runner reaches the document's next block), in a scratch checkout
    // of its own, and runs beside the blocks after it; its test, at the file's end, waits for it and fails as it would
    // in its place. Most of a drill's time is waiting on its fault's duration and the checkers (README's loss drill:
    // ~18 s, under half of it CPU).
    const besides = all.filter((b) => isShell(b) && runsBeside(b));
    const running = new Map<CodeBlock, { cwd: string; run: Promise<void> }>();
    const startBeside = (block: CodeBlock): Promise<void> => {
      if (!running.has(block)) {
        const cwd = scratchCheckout(REPO_ROOT);
        const run = withPortRetry(() => runShellBlock(block, cwd, STOP_GRACE_MS, inProcess));
        // Awaited by its test; until then a failure is held, not an unhandled rejection.
        run.catch(() => undefined);
        running.set(block, { cwd, run });
      }
      return running.get(block)!.run;
    };
    beforeAll(async () => {
      inProcess = await serveInProcess();
    });
    afterAll(async () => {
      for (const { cwd, run } of running.values()) {
        await run.catch(() => undefined);
        rmSync(cwd, { recursive: true, force: true });
      }
      await inProcess?.close();
    });

    it("use known tags and the documented meridian forms", () => {
      for (const b of all.filter(isShell)) {
        for (const tag of b.tags) expect(TAGS.has(tag), `${where(b, 0)}: unknown tag "${tag}" (known: ${[...TAGS].join(", ")})`).toBe(true);
        // `npm run meridian` (without -s) prints npm's banner on stdout, which breaks `> file` and `| jq`.
        expect(b.body, `${where(b, 0)}: use \`npx meridian …\` or \`npm run -s meridian -- …\``).not.toMatch(/npm run meridian\b/);
        expect(b.body, `${where(b, 0)}: the meridian command is not on PATH; use \`npx meridian …\``).not.toMatch(/^\s*meridian\s/m);
      }
    });

    for (const file of files) {
      const blocks = all.filter((b) => b.file === file && isShell(b));
      if (blocks.length === 0) continue;
      describe(file, { concurrent: sideBySide }, () => {
        let cwd: string | undefined;
        let lock: DocLock | undefined;
        const scratch = () => (cwd ??= scratchCheckout(REPO_ROOT));
        // Fixed ports and schemas: another checkout's run of this document must not interleave with this one.
        beforeAll(async () => {
          lock = await lockDocument(file);
        }, DOC_LOCK_WAIT_MS);
        afterAll(async () => {
          if (cwd) rmSync(cwd, { recursive: true, force: true });
          await lock?.release();
        });
        // The document's first block that runs meridian, but not a plan of an estate, runs it as processes (the
        // bin's own wiring, as a reader gets it); the others in this process. A plan in a process of its own loads
        // the Pulumi SDK and the providers' rules again (tens of seconds on a loaded machine).
        const first = blocks.find((b) => MERIDIAN.test(b.body) && !["ci", "network", "pulumi"].includes(b.tags[0] ?? "") && !PLANS.test(b.body));
        const via = (block: CodeBlock) => (block === first ? undefined : inProcess);
        for (const block of blocks.filter((b) => !runsBeside(b))) {
          const tag = block.tags[0] ?? "run";
          it(`${file}:${block.line} (${tag})`, { concurrent: false, timeout: 300_000 }, async () => {
            for (const b of besides) if (b.file === file && b.line < block.line) void startBeside(b);
            if (tag === "ci") checkCiBlock(block);
            else if (tag === "network") await checkNetworkBlock(block);
            else if (tag === "pulumi") await runOfflineParts(block, scratch(), via(block));
            else await withPortRetry(() => runShellBlock(block, scratch(), STOP_GRACE_MS, via(block)));
          });
        }
      });
    }

    for (const block of besides) {
      describe(block.file, () => {
        it(`${block.file}:${block.line} (${block.tags[0] ?? "run"})`, async () => {
          await startBeside(block);
        }, 300_000);
      });
    }
  });
}
