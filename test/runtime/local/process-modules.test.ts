/**
 * What the processes `meridian local` spawns load: every estate start (a test file starts several) pays for each module
 * in three region processes and the proof log's. A region process loads its own command's modules (not every CLI
 * command's), the estate model its rate-limit share needs (not the network and cost models), and gRPC's service
 * definition without proto-loader's reflection descriptors. Each process, run without its supervisor, loads and exits 2.
 * No Fastify app loads Fastify's JSON-schema compilers (Ajv, fast-json-stringify) unless a route declares a schema.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";

const HOOKS = fileURLToPath(new URL("../../testdata/module-log/hooks.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "meridian-modules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The checkout-relative paths (node_modules/… for packages) of the modules `node <args>` loads; it exits `status`. */
function modulesOf(name: string, args: string[], status = 2): string[] {
  const log = join(dir, `${name}.log`);
  const r = spawnSync(process.execPath, ["--import", HOOKS, ...args], { cwd: REPO_ROOT, env: { ...process.env, MODULE_LOG: log }, encoding: "utf8", timeout: 120_000 });
  expect(r.status, r.stderr).toBe(status);
  if (status === 2) expect(r.stderr).toContain("runs under `meridian local` only");
  const repo = new URL(`file://${REPO_ROOT.endsWith("/") ? REPO_ROOT : `${REPO_ROOT}/`}`).href;
  return [...new Set(readFileSync(log, "utf8").split("\n").filter(Boolean))].map((u) => u.replace(repo, "").replace(/^file:\/\/.*\/node_modules\//, "node_modules/"));
}

describe("the estate's processes load what they run", () => {
  it("a region process: its command, the region, no other command, no network or cost model, no gRPC reflection", () => {
    const mods = modulesOf("region", [MERIDIAN_BIN, "local-region", "--stack", "local", "--region", "local-aws", "--host", "127.0.2.1"]);
    expect(mods).toEqual(expect.arrayContaining(["cli/commands/local.ts", "runtime/local/region.ts", "model/workloads/ratelimit-shares.ts", "runtime/ratelimit/service/proto.ts"]));
    expect(mods.filter((m) => m.startsWith("cli/commands/") && m !== "cli/commands/local.ts")).toEqual([]);
    expect(mods.filter((m) => /^model\/(cost|network|prices)\//.test(m) || m === "model/workloads/ratelimit-config.ts")).toEqual([]);
    expect(mods.filter((m) => m.startsWith("node_modules/@grpc/proto-loader/build/src/index.js") || m.startsWith("node_modules/protobufjs/ext/descriptor"))).toEqual([]);
  });

  it("the proof log's process: its command, no other command", () => {
    const mods = modulesOf("prooflog", [MERIDIAN_BIN, "local-prooflog"]);
    expect(mods).toEqual(expect.arrayContaining(["cli/commands/local.ts", "runtime/local/prooflog-process.ts"]));
    expect(mods.filter((m) => m.startsWith("cli/commands/") && m !== "cli/commands/local.ts")).toEqual([]);
  });

  it("a Fastify app whose routes declare no schema (the dashboard's) loads no schema compiler", () => {
    const script = [
      `const { registerTypeScript } = await import(${JSON.stringify(join(REPO_ROOT, "bin/ts-hooks.mjs"))});`,
      "registerTypeScript();",
      `const { startDashboard } = await import(${JSON.stringify(join(REPO_ROOT, "runtime/local/dashboard.ts"))});`,
      'const d = await startDashboard({ estate: () => undefined, host: "127.0.0.1", port: 0 });',
      "await (await fetch(`${d.url}/api/state`)).text();",
      "await d.close();",
    ].join("\n");
    const mods = modulesOf("dashboard", ["--input-type=module", "-e", script], 0);
    expect(mods).toEqual(expect.arrayContaining(["node_modules/fastify/fastify.js"]));
    expect(mods.filter((m) => /^node_modules\/(ajv|@fastify\/ajv-compiler|fast-json-stringify\/index\.js|@fastify\/fast-json-stringify-compiler)/.test(m))).toEqual([]);
  });
});
