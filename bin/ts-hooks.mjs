// How bin/meridian.mjs runs the TypeScript sources: Node's in-thread module hooks (module.registerHooks) map
// a `./x.js` import written in a .ts file to `./x.ts` and compile each .ts file with esbuild, as tsx does. tsx's
// hooks run on a separate loader thread, a round trip per module: a command loads hundreds of modules, and
// the tests spawn the CLI hundreds of times (`das sample`: 0.65 → 0.40 CPU s, `--help`: 0.12 → 0.07).
// Each compiled file is kept under the OS temp directory, keyed by its path and contents.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire, registerHooks, setSourceMapsSupport } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
/** tsconfig.json's compiler options decide class-field semantics and the like for esbuild, as for tsx. */
const TSCONFIG = readFileSync(new URL("../tsconfig.json", import.meta.url), "utf8");
const CACHE = join(tmpdir(), "meridian-ts-cache");

/**
 * What a compiled file depends on besides its path and contents: the compiler's version (its package.json, so a
 * process that finds every file cached never loads esbuild's JS API: ~10 ms of CPU a process) and these options.
 * The inline source map carries the mappings only: stack traces need no more, and Node reads an original source
 * from its file when it quotes it (the sources' contents were over half of what each module's load decoded and scanned).
 */
const OPTIONS = { loader: "ts", format: "esm", target: `node${process.versions.node.split(".")[0]}`, sourcemap: "inline", sourcesContent: false, tsconfigRaw: TSCONFIG };
const COMPILER = `${require("esbuild/package.json").version}\0${JSON.stringify(OPTIONS)}`;

let esbuild;
function compile(path, source) {
  const key = createHash("sha256").update(`${COMPILER}\0${path}\0${source}`).digest("hex");
  const cached = join(CACHE, `${key}.mjs`);
  if (existsSync(cached)) return readFileSync(cached, "utf8");
  esbuild ??= require("esbuild");
  const { code } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: path });
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${cached}.${process.pid}`;
  writeFileSync(tmp, code);
  renameSync(tmp, cached); // atomic: concurrent CLIs compiling the same file each write a whole one
  return code;
}

export function registerTypeScript() {
  // Stack traces name .ts lines. Only ours: mapping the packages' own maps too (process.setSourceMapsEnabled) read
  // and parsed a .map file per module of grpc-js, ajv, @opentelemetry/api… (over 200 in a region process) at load.
  // (Node has both module.setSourceMapsSupport and registerHooks from 22.15, when bin/meridian.mjs loads this file.)
  setSourceMapsSupport(true, { nodeModules: false, generated: false });
  registerHooks({
    resolve(specifier, context, next) {
      if (specifier.startsWith(".") && specifier.endsWith(".js") && context.parentURL?.endsWith(".ts")) {
        const ts = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
        if (existsSync(ts)) return { url: ts.href, format: "module", shortCircuit: true };
      }
      return next(specifier, context);
    },
    load(url, context, next) {
      if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
      const path = fileURLToPath(url);
      return { format: "module", source: compile(path, readFileSync(path, "utf8")), shortCircuit: true };
    },
  });
}
