/**
 * The `meridian` command. Each file in cli/commands/ registers its subcommands; a command module stays
 * cheap to import and loads its heavy dependencies inside its action, so `meridian --help` is instant.
 */
import { Command, CommanderError } from "commander";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { ConfigMistake } from "../model/config/errors.js";
import { UserError } from "./errors.js";

export interface CommandModule {
  register(program: Command): void;
}

/**
 * The processes `meridian local` spawns, its regions and its proof log, each run a hidden command of
 * cli/commands/local.ts: they register that file's commands alone (the others' modules: ~50 ms of CPU a process).
 */
const ESTATE_PROCESSES = new Set(["local-region", "local-prooflog"]);

async function main(argv: string[]): Promise<void> {
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  const program = new Command("meridian")
    .description("Plan, cost and run a planet-scale estate across AWS, GCP, Azure and Cloudflare")
    .version(version, "-V, --version", "print the meridian version")
    .showHelpAfterError()
    .exitOverride();
  const dir = fileURLToPath(new URL("./commands/", import.meta.url));
  const only = ESTATE_PROCESSES.has(argv[2] ?? "") ? /^local\.[tj]s$/ : /./;
  // .ts from source (tsx), .js in the runtime image (bin/build-runtime.mjs).
  for (const file of readdirSync(dir)
    .filter((f) => /\.[tj]s$/.test(f) && !f.endsWith(".d.ts") && only.test(f))
    .sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Partial<CommandModule>;
    mod.register?.(program);
  }
  // Every service `meridian … serve` runs propagates the HLC from one place when the environment gives a max
  // offset (MERIDIAN_HLC_MAX_OFFSET_MS, set on every deployed pod): runtime/clock loads only then.
  const { setDefaultTime } = await import("../runtime/kit/hlc.js");
  setDefaultTime(async (ctx) => (await import("../runtime/clock/index.js")).timeFromEnv()(ctx));
  await program.parseAsync(argv);
}

try {
  await main(process.argv);
} catch (err) {
  // Commander has printed its message: --help and --version exit 0, every usage mistake (unknown option or
  // command, missing argument, invalid value) exits 2 like any other user error.
  if (err instanceof CommanderError) process.exitCode = err.exitCode === 0 ? 0 : 2;
  else if (err instanceof UserError || err instanceof ConfigMistake) {
    process.stderr.write(`meridian: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`meridian: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
