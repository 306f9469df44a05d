#!/usr/bin/env node
// The `meridian` command. TypeScript sources run as they are, so there is no build step to forget.
const [major] = process.versions.node.split(".").map(Number);
if (major < 22) {
  process.stderr.write(
    `meridian needs Node >= 22 (found ${process.versions.node}). Run it through npm (npx meridian, npm start), ` + "which puts the project's pinned Node from node_modules/.bin first on PATH.\n",
  );
  process.exit(1);
}
// V8's code cache for what every command loads (the cloud providers' SDKs alone are seconds to compile);
// Node keeps it under the OS temp directory and checks each entry against the file's contents.
const { enableCompileCache, registerHooks } = await import("node:module");
enableCompileCache?.();
if (registerHooks) {
  const { registerTypeScript } = await import("./ts-hooks.mjs");
  registerTypeScript();
} else {
  // Node before 22.15 has no in-thread module hooks: tsx's (off-thread, slower per module) do the same.
  const { register } = await import("tsx/esm/api");
  register();
}
await import("../cli/main.ts");
