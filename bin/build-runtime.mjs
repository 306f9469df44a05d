#!/usr/bin/env node
// Build the runtime image's application: the CLI and the runtime services compiled to JavaScript
// (esbuild, one file per source; `npm run typecheck` is the type check), their non-code assets (the
// ratelimit protos), and a package.json whose dependencies are exactly the packages the compiled code
// imports, at the versions package.json pins — so the image carries no Pulumi SDK, no tsx and no
// second Node. No stack file is copied: services run from their --config files.
//   node bin/build-runtime.mjs [outDir]      (default: dist)
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** What the runtime is made of. components/, policies/ and program.ts are the Pulumi side: never in the image. */
const SOURCES = ["cli", "runtime", "model", "stacks"];
const ASSETS = ["runtime/ratelimit/proto", "runtime/verkle/setup"];
/** Packages the image must never carry, whatever a future import says. */
const FORBIDDEN = [/^@pulumi\//, /^tsx$/, /^node$/, /^esbuild$/, /^typescript$/, /^vitest$/];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** The package a bare import specifier names (`@scope/pkg/sub` → `@scope/pkg`), or null for relative/builtin ones. */
export function packageOf(specifier) {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return null;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return builtinModules.includes(name) ? null : name;
}

export async function buildRuntime(outDir = join(ROOT, "dist")) {
  rmSync(outDir, { recursive: true, force: true });
  const entryPoints = SOURCES.flatMap((d) => walk(join(ROOT, d))).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.endsWith(".test.ts"));
  const result = await build({
    entryPoints,
    outdir: outDir,
    outbase: ROOT,
    absWorkingDir: ROOT,
    platform: "node",
    format: "esm",
    target: "node22",
    bundle: false,
    metafile: true,
    logLevel: "warning",
  });
  for (const a of ASSETS) cpSync(join(ROOT, a), join(outDir, a), { recursive: true });

  // Every import of the compiled files, static or dynamic (esbuild's output: one `"…"` specifier per import).
  const imported = new Map();
  for (const file of Object.keys(result.metafile.outputs)) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const m of text.matchAll(/(?:^|[;\s])(?:import|export)\s[^;"]*?\bfrom\s*"([^"]+)"|\bimport\s*\(\s*"([^"]+)"\s*\)|^import\s*"([^"]+)"/gm)) {
      const pkg = packageOf(m[1] ?? m[2] ?? m[3]);
      if (pkg) imported.set(pkg, [...(imported.get(pkg) ?? []), relative(outDir, join(ROOT, file))]);
    }
  }
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const dependencies = {};
  const problems = [];
  for (const [pkg, from] of [...imported].sort(([a], [b]) => a.localeCompare(b))) {
    if (FORBIDDEN.some((re) => re.test(pkg))) problems.push(`${pkg} is imported by ${from[0]}, but must not be in the runtime image`);
    else if (!manifest.dependencies?.[pkg]) problems.push(`${pkg} is imported by ${from[0]}, but is not a dependency in package.json`);
    else dependencies[pkg] = manifest.dependencies[pkg];
  }
  if (problems.length) throw new Error(`runtime build: ${problems.join("; ")}`);
  const pkg = { name: "meridian-runtime", version: manifest.version, private: true, type: "module", license: manifest.license, bin: { meridian: "cli/main.js" }, dependencies };
  writeFileSync(join(outDir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  return { outDir, dependencies, files: entryPoints.map((f) => relative(ROOT, f)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
  const { outDir, dependencies, files } = await buildRuntime(out);
  mkdirSync(dirname(outDir), { recursive: true });
  process.stdout.write(`built ${files.length} files into ${relative(process.cwd(), outDir) || "."}; runtime dependencies: ${Object.keys(dependencies).join(", ")}\n`);
}
