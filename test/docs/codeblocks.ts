/**
 * The docs code-block runner's parts: find the fenced blocks of a Markdown file, split a shell block into
 * the commands a reader would type, and run a command the way a terminal would — in its own shell and
 * process group, with its output captured, waiting for a server's ready line. The convention these
 * implement is written down in docs/README.md.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, symlinkSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CodeBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** Words after the language in the info string (`sh server` → ["server"]). */
  tags: string[];
  body: string;
}

const SHELLS = new Set(["sh", "bash", "shell", "console"]);

export function isShell(block: CodeBlock): boolean {
  return SHELLS.has(block.lang);
}

/** Every fenced block (``` or ~~~) of a Markdown text, with its info string split into language and tags. */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const out: CodeBlock[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[j]!)) body.push(lines[j++]!);
    out.push({ file, line: i + 1, lang: open[2]!.toLowerCase(), tags: open[3]!.split(/\s+/).filter(Boolean), body: body.join("\n") });
    i = j;
  }
  return out;
}

export interface ShellCommand {
  /** 1-based line within the block where the command starts. */
  line: number;
  text: string;
  /** Ends with a lone `&`: runs in the background until the block ends. */
  background: boolean;
}

/**
 * The commands of a shell block as a reader types them: one per line, `\` continuations joined, here-docs
 * kept with their command, blank lines and comment lines dropped (a trailing `# …` comment stays; bash
 * ignores it).
 */
export function shellCommands(body: string): ShellCommand[] {
  const lines = body.split("\n");
  const out: ShellCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i]!;
    if (/^\s*(#|$)/.test(text)) continue;
    // Keep the backslash: bash then reads the joined lines as the one command the reader typed.
    while (/\\$/.test(text) && i + 1 < lines.length) text = `${text}\n${lines[++i]!}`;
    const heredoc = /<<-?\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?/.exec(text);
    if (heredoc) {
      while (i + 1 < lines.length) {
        text += `\n${lines[++i]!}`;
        if (lines[i]!.trim() === heredoc[1]) break;
      }
    }
    const code = text.replace(/\s+#[^'"\n]*$/, "");
    out.push({ line: start + 1, text, background: /[^&]&\s*$/.test(code) });
  }
  return out;
}

/** A scratch working directory that looks like the checkout (each top-level entry symlinked, .git left out). */
export function scratchCheckout(repo: string): string {
  const dir = mkdtempSync(join(tmpdir(), "meridian-docs-"));
  for (const entry of readdirSync(repo)) if (entry !== ".git") symlinkSync(join(repo, entry), join(dir, entry));
  return dir;
}

export interface Started {
  command: ShellCommand;
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `npx meridian …` in a block runs the checkout's bin/meridian.mjs with the node on PATH — what npx runs for a
 * project's own bin — through a bash function (exported in the environment, so every shell of a block has it).
 * npm's resolution of that bin loads the whole dependency tree first: over a second of CPU per call, hundreds of
 * calls per run. The function stands in for the resolution; the runner's own test runs the real `npx meridian`
 * once in a scratch checkout. Any other `npx …` is npx itself. When the runner gives the command MERIDIAN_DOCS_SOCKET
 * (test/docs/in-process.ts), the function hands `meridian …` to the runner's process instead of starting the bin.
 */
const NPX_FUNCTION = "BASH_FUNC_npx%%";
/** Commands that run a whole estate of processes (and time it): always a process of their own. */
const ESTATE_COMMANDS = ["local", "drill", "chaos"];
const NPX_MERIDIAN = `() { if [ "$1" != meridian ]; then command npx "$@"; elif [ -n "$MERIDIAN_DOCS_SOCKET" ] && ! [[ " ${ESTATE_COMMANDS.join(" ")} " == *" $2 "* ]]; then shift; node "$MERIDIAN_DOCS_CLIENT" "$@"; else shift; node "$MERIDIAN_DOCS_CHECKOUT/bin/meridian.mjs" "$@"; fi; }`;

/**
 * The environment commands start from: this process's as the file began. While a command runs in this process
 * (test/docs/in-process.ts), process.env is that command's (its shell's variables, `FOO=1 npx meridian …`), and a
 * block running beside it (a drill, another document) must not inherit them.
 */
const BASE_ENV: NodeJS.ProcessEnv = { ...process.env };

/**
 * Start one command in a fresh `bash -o pipefail` in its own process group (so Ctrl-C reaches all of it). With
 * `inProcess` (test/docs/in-process.ts), its `npx meridian …` runs in the test's process through that socket.
 */
export function startCommand(command: ShellCommand, cwd: string, inProcess?: { socket: string; client: string }): Started {
  // A fresh user's state directories (e.g. `log verify` keeps the last checkpoint it saw there).
  const xdg = Object.fromEntries(["STATE", "CONFIG", "DATA", "CACHE"].map((k) => [`XDG_${k}_HOME`, join(cwd, ".xdg", k.toLowerCase())]));
  const text = command.background ? command.text.replace(/&(\s*(#.*)?)$/, "$1") : command.text;
  const env: NodeJS.ProcessEnv = { ...BASE_ENV, ...xdg, FORCE_COLOR: "0", [NPX_FUNCTION]: NPX_MERIDIAN, MERIDIAN_DOCS_CHECKOUT: cwd };
  if (inProcess) Object.assign(env, { MERIDIAN_DOCS_SOCKET: inProcess.socket, MERIDIAN_DOCS_CLIENT: inProcess.client });
  const child = spawn("bash", ["-o", "pipefail", "-c", text], { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"], env });
  const chunks: string[] = [];
  child.stdout!.on("data", (d: Buffer) => chunks.push(d.toString()));
  child.stderr!.on("data", (d: Buffer) => chunks.push(d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { command, child, output: () => chunks.join(""), exited };
}

/** npm's own banner lines (`> meridian@0.1.0 start`, blank lines) are not a program's ready line. */
const NPM_BANNER = /^(>\s|\s*$)/;

/** Resolves "ready" on the command's first stdout line of its own, or "exited" if it ends first. */
export function readyOrExit(started: Started, timeoutMs: number): Promise<"ready" | "exited" | "timeout"> {
  return new Promise((resolve) => {
    let buffered = "";
    const onData = (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      if (lines.some((l) => !NPM_BANNER.test(l))) finish("ready");
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    const finish = (how: "ready" | "exited" | "timeout") => {
      clearTimeout(timer);
      started.child.stdout!.off("data", onData);
      resolve(how);
    };
    started.child.stdout!.on("data", onData);
    void started.exited.then(() => finish("exited"));
  });
}

/** Ctrl-C for a started command: SIGINT to its process group; SIGKILL if it is still there after `graceMs`. */
export async function interrupt(started: Started, graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; forced: boolean }> {
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-started.child.pid!, sig);
    } catch {
      // The group is already gone.
    }
  };
  if (started.child.exitCode !== null || started.child.signalCode !== null) return { ...(await started.exited), forced: false };
  signalGroup("SIGINT");
  let forced = false;
  const timer = setTimeout(() => {
    forced = true;
    signalGroup("SIGKILL");
  }, graceMs);
  const result = await started.exited;
  clearTimeout(timer);
  // Whatever the shell left behind in its group goes too.
  signalGroup("SIGKILL");
  return { ...result, forced };
}
