/**
 * A `meridian` command run in the test's own process: the command module's register(), parsed by commander, with
 * stdout, stderr and the exit status captured as cli/main.ts reports them. For the commands that plan an estate,
 * where a process per run pays the Pulumi SDK and the providers' start-up again (seconds each): in one process
 * they load once per test file. The bin's own wiring stays covered by the files that also run it (runCli).
 */
import { Command, CommanderError } from "commander";
import { UserError } from "../cli/errors.js";
import { ConfigMistake } from "../model/config/errors.js";
import type { CliResult } from "./cli.js";

type Writer = typeof process.stdout.write;

/** `meridian <command> …args` with `env` set for the run (e.g. MERIDIAN_STACKS_DIR); commands run one at a time. */
export async function runCliInProcess(args: string[], options: { env?: Record<string, string> } = {}): Promise<CliResult> {
  const [name] = args;
  if (!name || !/^[a-z-]+$/.test(name)) throw new Error(`runCliInProcess: no command in ${JSON.stringify(args)}`);
  const mod = (await import(`../cli/commands/${name}.ts`)) as { register(program: Command): void };
  const program = new Command("meridian").exitOverride();
  mod.register(program);

  const out = { stdout: "", stderr: "" };
  const capture = (key: "stdout" | "stderr"): Writer =>
    ((chunk: string | Uint8Array) => {
      out[key] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      return true;
    }) as Writer;
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write, exitCode: process.exitCode };
  const savedEnv = Object.fromEntries(Object.keys(options.env ?? {}).map((k) => [k, process.env[k]]));
  Object.assign(process.env, options.env);
  process.stdout.write = capture("stdout");
  process.stderr.write = capture("stderr");
  process.exitCode = undefined;
  let status: number;
  try {
    await program.parseAsync(args, { from: "user" });
    status = Number(process.exitCode ?? 0);
  } catch (err) {
    // As cli/main.ts reports them.
    if (err instanceof CommanderError) status = err.exitCode === 0 ? 0 : 2;
    else if (err instanceof UserError || err instanceof ConfigMistake) {
      out.stderr += `meridian: ${err.message}\n`;
      status = 2;
    } else {
      out.stderr += `meridian: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`;
      status = 1;
    }
  } finally {
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    process.exitCode = saved.exitCode;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { status, ...out };
}
