// The runtime image's application as the Dockerfile builds it (bin/build-runtime.mjs): compiled
// JavaScript and a package.json of exactly the packages that code imports. Run here the way the image
// runs it — from a directory outside the repo whose node_modules holds only that package.json's
// dependency closure (from package-lock.json), with plain `node` and no tsx — a service starts from its
// config file and answers; a Pulumi SDK cannot even be resolved.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../cli.js";
import { as, testConfig } from "../runtime/escrow/fixture.js";
import { ServerProcesses } from "../rendered-workload.js";

interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };

/** Node's lookup as npm laid it out: the nearest `node_modules/<name>` above the requiring package. */
function locate(from: string, name: string): string | null {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
    const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === "") return null;
  }
}

/** Top-level packages (`node_modules/<name>`) the dependencies need; nested ones travel inside their parent. */
function closure(roots: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = roots.map((r) => `node_modules/${r}`);
  while (queue.length) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const e = lock.packages[path]!;
    for (const [name, optional] of [
      ...Object.keys(e.dependencies ?? {}).map((n) => [n, false] as const),
      ...Object.keys({ ...e.optionalDependencies, ...e.peerDependencies }).map((n) => [n, true] as const),
    ]) {
      const found = locate(path, name);
      if (found) queue.push(found);
      else if (!optional) throw new Error(`${path} needs ${name}, which package-lock.json does not have`);
    }
  }
  return new Set([...seen].map((p) => p.split("/node_modules/")[0]!.replace(/^node_modules\//, "")));
}

let root = "";
let dist = "";
let dependencies: Record<string, string> = {};
const servers = new ServerProcesses();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "runtime-image-"));
  dist = join(root, "app");
  const { buildRuntime } = (await import(join(REPO_ROOT, "bin/build-runtime.mjs"))) as { buildRuntime(out: string): Promise<{ dependencies: Record<string, string> }> };
  ({ dependencies } = await buildRuntime(dist));
  for (const name of closure(Object.keys(dependencies))) {
    const link = join(dist, "node_modules", name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(REPO_ROOT, "node_modules", name), link, "dir");
  }
}, 120_000);

afterAll(() => {
  servers.killAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** `node` as the image's ENTRYPOINT runs it; symlinks preserved so lookups stay inside the app's node_modules. */
const NODE = [process.execPath, "--preserve-symlinks", "--preserve-symlinks-main"];

async function serve(args: string[]): Promise<string> {
  return (await servers.start(NODE[0]!, [...NODE.slice(1), join(dist, "cli/main.js"), ...args], { cwd: dist })).url;
}

describe("the runtime image's application", () => {
  it("depends only on what the runtime imports: no Pulumi SDK, no tsx, no second Node, no stack files", () => {
    const names = Object.keys(dependencies);
    expect(names).toContain("fastify");
    expect(names.filter((n) => /^@pulumi\/|^tsx$|^node$|^esbuild$/.test(n))).toEqual([]);
    for (const n of names) expect(dependencies[n]).toBe(manifest.dependencies[n]);
    expect(existsSync(join(dist, "stacks/Pulumi.prod.yaml"))).toBe(false);
    expect(existsSync(join(dist, "components"))).toBe(false);
    expect(existsSync(join(dist, "runtime/ratelimit/proto/envoy/service/ratelimit/v3/rls.proto"))).toBe(true);
    expect(existsSync(join(dist, "runtime/verkle/setup/trusted_setup.txt.gz"))).toBe(true);
    const pulumi = spawnSync(NODE[0]!, [...NODE.slice(1), "--input-type=module", "-e", "await import('@pulumi/pulumi')"], { cwd: dist, encoding: "utf8" });
    expect(pulumi.status).not.toBe(0);
    expect(pulumi.stderr).toMatch(/Cannot find package '@pulumi\/pulumi'/);
  });

  it("runs the clock and the rate limiter from their config files with plain node", async () => {
    writeFileSync(join(root, "clock.json"), JSON.stringify({ region: "aws-use1", maxOffsetMs: 250, degradeFraction: 0.4 }));
    const clock = await serve(["time", "serve", "--config", join(root, "clock.json"), "--port", "0"]);
    expect(((await (await fetch(`${clock}/v1/time/skew`)).json()) as { thresholds: { degradeMs: number } }).thresholds.degradeMs).toBe(100);

    writeFileSync(join(root, "rules.yaml"), "domain: d\ndescriptors:\n  - key: k\n    rate_limit: { unit: second, requests_per_unit: 7 }\n");
    writeFileSync(join(root, "ratelimit.json"), JSON.stringify({ rules: join(root, "rules.yaml"), grpc: { port: 0 } }));
    const rl = await serve(["ratelimit", "serve", "--config", join(root, "ratelimit.json"), "--port", "0"]);
    const r = await fetch(`${rl}/v1/ratelimit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ domain: "d", descriptors: [{ entries: [{ key: "k", value: "v" }] }] }),
    });
    expect(((await r.json()) as { statuses: { current_limit: { requests_per_unit: number } }[] }).statuses[0]!.current_limit.requests_per_unit).toBe(7);
  }, 60_000);

  it("runs the escrow with its transition log on a worker thread from the compiled module", async () => {
    writeFileSync(
      join(root, "escrow.json"),
      JSON.stringify(await testConfig(["r1"], { skus: [{ sku: "tix", total: 100, globalReserve: 0, allocation: { r1: 100 }, refill: { batchSize: 10, reorderPoints: { r1: 2 } } }] })),
    );
    const escrow = await serve(["escrow", "serve", "--config", join(root, "escrow.json"), "--port", "0"]);
    // A buyer's reservation: its refill and reserve are entries the worker (transitions-worker.js, started as compiled) logs and signs.
    const r = await fetch(`${escrow}/v1/inventory/tix/reservations`, { method: "POST", headers: { ...(await as("ann", "r1")), "content-type": "application/json" }, body: JSON.stringify({ qty: 1 }) });
    expect(r.status).toBe(201);
    const checkpoint = async () => (await (await fetch(`${escrow}/v1/transitions/checkpoint`)).json()) as { size: number; origin: string; sealed?: unknown };
    let cp = await checkpoint();
    for (let i = 0; i < 100 && cp.size < 2; i++) cp = await new Promise((w) => setTimeout(w, 100)).then(checkpoint);
    expect(cp.size).toBeGreaterThanOrEqual(2);
    expect(cp.origin).toMatch(/^meridian-escrow\/r1\//);
    expect(cp.sealed).toBeUndefined();
  }, 60_000);
});
