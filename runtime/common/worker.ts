/**
 * Start a worker thread on a module of this tree, as it runs: the compiled image's `.js` (bin/build-runtime.mjs) as
 * it is; a `.ts` source (bin/meridian.mjs, the tests) through the same TypeScript hooks as the CLI's, registered in the
 * worker first — a worker does not inherit its parent's module hooks.
 */
import { Worker } from "node:worker_threads";

/** `moduleUrl`: the worker's module, as `new URL("./x.js", import.meta.url)` names it from a module of this tree. */
export function startWorker(moduleUrl: URL, workerData: unknown): Worker {
  const ts = new URL(moduleUrl.href.replace(/\.js$/, ".ts"));
  if (!import.meta.url.endsWith(".ts")) return new Worker(moduleUrl, { workerData });
  const hooks = new URL("../../bin/ts-hooks.mjs", import.meta.url).href;
  const boot = `
    import { registerHooks } from "node:module";
    if (!registerHooks) throw new Error("a TypeScript worker needs Node >= 22.15 (module.registerHooks)");
    (await import(${JSON.stringify(hooks)})).registerTypeScript();
    await import(${JSON.stringify(ts.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}
