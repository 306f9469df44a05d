/**
 * `meridian images list|resolve`: the images the pinned charts and the psql Jobs run (model/images/charts.ts, the
 * one catalogue the plan and the policy pack use) and their digests. `resolve` asks each image's registry for
 * the digest its tag points at now and prints the stack's `meridian:imageDigests` block, or with `--write`
 * sets it in the stack file: all of them or, when any image fails, none.
 */
import type { Command } from "commander";
import { numberArg } from "../args.js";
import { UserError } from "../errors.js";

interface ResolveOpts {
  stack?: string;
  write?: boolean;
  endpoint: string[];
  timeout: number;
}

export function register(program: Command): void {
  const images = program.command("images").description("the images the charts run, and their digests (meridian:imageDigests)");

  images
    .command("list")
    .description("each image the stack must pin by digest, with the digest it names (or that it is still the all-zero placeholder)")
    .requiredOption("-s, --stack <name>", "stack name (stacks/Pulumi.<name>.yaml)")
    .action(async (opts: { stack: string }) => {
      const { stackDigests, imagesToResolve } = await import("../images/stack.js");
      const { PLACEHOLDER_DIGEST, VENDORED_DIGESTS } = await import("../../model/images/charts.js");
      const current = stackDigests(opts.stack);
      const lines = imagesToResolve(current).map((ref) => {
        const digest = current[ref];
        const state = digest === undefined ? "missing" : digest === PLACEHOLDER_DIGEST ? "placeholder" : digest;
        return `${ref}  ${state}`;
      });
      for (const [ref, { digest }] of Object.entries(VENDORED_DIGESTS).sort()) if (current[ref] === undefined) lines.push(`${ref}  ${digest} (vendored)`);
      process.stdout.write(`${lines.join("\n")}\n`);
    });

  images
    .command("resolve")
    .description("ask each image's registry (OCI Distribution API, anonymous tokens) for its tag's digest; print the meridian:imageDigests block or --write it into the stack")
    .option("-s, --stack <name>", "stack name (stacks/Pulumi.<name>.yaml); without it, every image the catalogue needs a digest for")
    .option("--write", "set the digests in the stack file in place (everything else in the file is kept as written); nothing is written if any image fails")
    .option("--endpoint <registry=url>", "ask this base URL instead of the registry (a mirror), e.g. docker.io=https://mirror.example.com; repeatable", (v: string, acc: string[]) => [...acc, v], [])
    .option("--timeout <seconds>", "per request", numberArg("--timeout", 0.1, 600), 30)
    .action(async (opts: ResolveOpts) => {
      if (opts.write && opts.stack === undefined) throw new UserError("--write needs --stack <name>: the stack file to write");
      const endpoints = parseEndpoints(opts.endpoint);
      const { stackDigests, imagesToResolve } = await import("../images/stack.js");
      const { resolveDigests, ResolveError } = await import("../images/resolve.js");
      const current = opts.stack === undefined ? {} : stackDigests(opts.stack);
      const references = imagesToResolve(current);
      let digests: Record<string, string>;
      try {
        digests = await resolveDigests(references, { endpoints, timeoutMs: opts.timeout * 1000 });
      } catch (err) {
        if (!(err instanceof ResolveError)) throw err;
        const n = err.message.split("\n").length;
        process.stderr.write(`meridian: ${n} of ${references.length} images could not be resolved${opts.write ? "; the stack file is unchanged" : ""}:\n${err.message.replace(/^/gm, "  ")}\n`);
        process.exitCode = 1;
        return;
      }
      if (!opts.write) {
        const { renderImageDigestsBlock } = await import("../../model/images/registry.js");
        process.stdout.write(renderImageDigestsBlock(digests));
        return;
      }
      const { readFileSync } = await import("node:fs");
      const { stackFile, displayPath } = await import("../../stacks/load.js");
      const { withImageDigests, replaceFile } = await import("../images/stack-file.js");
      const file = stackFile(opts.stack!);
      const shown = displayPath(file);
      let text: string;
      try {
        text = withImageDigests(readFileSync(file, "utf8"), digests, shown);
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      replaceFile(file, text);
      const changed = references.filter((r) => current[r] !== digests[r]);
      process.stdout.write(`${shown}: meridian:imageDigests has ${references.length} digests (${changed.length} changed)\n`);
      for (const r of changed) process.stdout.write(`  ${r}: ${current[r] ?? "(missing)"} -> ${digests[r]!}\n`);
    });
}

/** `--endpoint docker.io=http://127.0.0.1:5000` → { "docker.io": "http://127.0.0.1:5000" }. */
function parseEndpoints(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const m = /^([a-z0-9.-]+(?::[0-9]+)?)=(https?:\/\/\S+)$/.exec(v);
    if (!m) throw new UserError(`--endpoint ${v}: expected <registry>=<http(s) URL>, e.g. docker.io=https://mirror.example.com`);
    out[m[1]!] = m[2]!;
  }
  return out;
}
