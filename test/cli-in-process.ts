/**
 * A `meridian` command run in the test's own process: every module of cli/commands registered as cli/main.ts does,
 * parsed by commander, with stdin given, stdout and stderr captured and the exit status as cli/main.ts reports
 * them. A process per run pays Node, tsx and the command's imports again (a second of CPU, more for the commands
 * that load the Pulumi SDK); in one process they load once per test file. The bin's own wiring stays covered by
 * the files that also run it (runCli), and anything about the process itself (signals, kill -9, a server's ready
 * line and drain) stays with runCli/serveCli.
 */
import { Command, CommanderError } from "commander";
import { readdirSync, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { UserError } from "../cli/errors.js";
import { ConfigMistake } from "../model/config/errors.js";
import type { CliResult } from "./cli.js";

type Writer = typeof process.stdout.write;

export interface InProcessOptions {
  /** Set for the run (e.g. MERIDIAN_STACKS_DIR), restored after. */
  env?: Record<string, string | undefined>;
  /** The whole environment for the run (what a child process given `env` would see), restored after. */
  replaceEnv?: NodeJS.ProcessEnv;
  /** The command's stdin (default: empty, as a child's with nothing piped). */
  input?: string | Buffer;
  /** The working directory for the run, restored after. */
  cwd?: string;
  /** Each chunk of output as it is written (the result still holds all of it). */
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
}

/** process.exit() inside a command: ends the run with that status instead of the test's process. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

const COMMANDS = fileURLToPath(new URL("../cli/commands/", import.meta.url));
let modules: Promise<{ register?(program: Command): void }[]> | undefined;
const commandModules = () =>
  (modules ??= Promise.all(
    readdirSync(COMMANDS)
      .filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"))
      .sort()
      .map((f) => import(pathToFileURL(join(COMMANDS, f)).href) as Promise<{ register?(program: Command): void }>),
  ));

const { version: VERSION } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
let queue: Promise<unknown> = Promise.resolve();

/** `meridian …args` in this process; runs queue up, one at a time (stdout, stderr, env and cwd are the process's). */
export function runCliInProcess(args: string[], options: InProcessOptions = {}): Promise<CliResult> {
  const run = queue.then(() => runOne(args, options));
  queue = run.catch(() => undefined);
  return run;
}

async function runOne(args: string[], options: InProcessOptions): Promise<CliResult> {
  const program = new Command("meridian").version(VERSION, "-V, --version", "print the meridian version").showHelpAfterError().exitOverride();
  for (const mod of await commandModules()) mod.register?.(program);

  const out = { stdout: "", stderr: "" };
  const capture = (key: "stdout" | "stderr"): Writer =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk);
      out[key] += buf.toString();
      options.onOutput?.(key, buf);
      const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      if (done) queueMicrotask(done);
      return true;
    }) as Writer;
  const stdinDescriptor = Object.getOwnPropertyDescriptor(process, "stdin")!;
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write, exitCode: process.exitCode, exit: process.exit, cwd: process.cwd(), env: { ...process.env } };
  if (options.replaceEnv) {
    for (const k of Object.keys(process.env)) if (!(k in options.replaceEnv)) delete process.env[k];
    Object.assign(process.env, options.replaceEnv);
  }
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (options.cwd) process.chdir(options.cwd);
  const stdin = Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]);
  Object.defineProperty(process, "stdin", { configurable: true, enumerable: true, get: () => stdin });
  process.stdout.write = capture("stdout");
  process.stderr.write = capture("stderr");
  process.exit = ((code?: number) => {
    throw new Exit(Number(code ?? process.exitCode ?? 0));
  }) as typeof process.exit;
  process.exitCode = undefined;
  let status: number;
  const report = (message: string) => {
    const buf = Buffer.from(`meridian: ${message}\n`);
    out.stderr += buf.toString();
    options.onOutput?.("stderr", buf);
  };
  try {
    await program.parseAsync(args, { from: "user" });
    status = Number(process.exitCode ?? 0);
  } catch (err) {
    // As cli/main.ts reports them.
    if (err instanceof Exit) status = err.code;
    else if (err instanceof CommanderError) status = err.exitCode === 0 ? 0 : 2;
    else if (err instanceof UserError || err instanceof ConfigMistake) {
      report(err.message);
      status = 2;
    } else {
      report(err instanceof Error ? (err.stack ?? err.message) : String(err));
      status = 1;
    }
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    process.exitCode = saved.exitCode;
    process.exit = saved.exit;
    Object.defineProperty(process, "stdin", stdinDescriptor);
    if (options.cwd) process.chdir(saved.cwd);
    for (const k of Object.keys(process.env)) if (!(k in saved.env)) delete process.env[k];
    Object.assign(process.env, saved.env);
  }
  return { status, ...out };
}
