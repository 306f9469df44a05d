/** `meridian runbook <name> --stack <stack>`: print a playbook as Markdown with this stack's numbers. */
import type { Command } from "commander";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Runbook } from "../../model/runbooks/runbook.js";
import { UserError } from "../errors.js";

export async function loadRunbooks(): Promise<Runbook[]> {
  const dir = fileURLToPath(new URL("../../model/runbooks/", import.meta.url));
  const books: Runbook[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && f !== "runbook.ts")
    .sort()) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { runbook?: Runbook };
    if (mod.runbook) books.push(mod.runbook);
  }
  return books;
}

export function register(program: Command): void {
  program
    .command("runbook")
    .description("print an operational playbook (Markdown) with the stack's own numbers")
    .argument("[name]", "runbook name; omit to list them")
    .option("-s, --stack <name>", "stack name", "prod")
    .action(async (name: string | undefined, opts: { stack: string }) => {
      const books = await loadRunbooks();
      if (name === undefined) {
        for (const b of books) process.stdout.write(`${b.name.padEnd(18)} ${b.title}\n`);
        return;
      }
      const book = books.find((b) => b.name === name);
      if (!book) throw new UserError(`unknown runbook "${name}"; expected one of ${books.map((b) => b.name).join(", ") || "(none yet)"}`);
      const { loadStack } = await import("../../stacks/load.js");
      const { buildEstateSpec } = await import("../../model/estate.js");
      process.stdout.write(book.render(buildEstateSpec(opts.stack, loadStack(opts.stack))));
    });
}
