/**
 * Routing controls on a running `meridian local` estate: `meridian traffic drain <region> --dashboard <url>`
 * takes the region out of the GSLB's answers at once (real dig), logs the change in the estate's proof log,
 * refuses to drain the last undrained region (exit 2), and `restore` hands it back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { LocalEstate } from "../../../runtime/local/estate.js";
import { startDashboard } from "../../../runtime/local/dashboard.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";

const run = promisify(execFile);

async function dig(port: number, name: string): Promise<string[]> {
  const { stdout } = await run("dig", ["@127.0.0.1", "-p", String(port), name, "A", "+short", "+tries=1", "+time=2"]);
  return stdout.trim().split("\n").filter(Boolean);
}

/** The CLI as a child process, without blocking this process's event loop (the estate runs here). */
async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MERIDIAN_BIN, ...args], { cwd: REPO_ROOT, timeout: 120_000 });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("meridian traffic drain|restore on a running local estate", () => {
  let estate: LocalEstate;
  let url: string;
  let closeDashboard: () => Promise<void>;
  const spec = buildEstateSpec("local", loadStack("local"));
  const fqdn = `${spec.dns.host}.${spec.dns.apex}`;

  beforeAll(async () => {
    estate = await LocalEstate.start({ spec, dnsPort: 0, basePort: 0 });
    const dashboard = await startDashboard({ estate: () => estate, port: 0, pushIntervalMs: 1000 });
    url = dashboard.url;
    closeDashboard = dashboard.close;
  }, 180_000);
  afterAll(async () => {
    await closeDashboard?.();
    await estate?.stop();
  });

  it("drains the primary out of the answers at once, logs it, refuses the last region, restores", async () => {
    const [first, second, third] = estate.regions;
    await until("every region healthy", () => (Object.values(estate.healthStates()).filter((s) => s === "healthy").length === 3 ? true : undefined));
    expect(await dig(estate.dns.port, fqdn)).toEqual([first!.address]);
    const logSize = () => estate.globals.log.instance.checkpoint().checkpoint.size;

    const drained = await cli(["traffic", "drain", first!.id, "--dashboard", url]);
    expect(drained.status, drained.stderr).toBe(0);
    expect(drained.stdout).toMatch(new RegExp(`drained ${first!.id} on the running estate: drained now ${first!.id}; proof log entry \\d+`));
    // No waiting for a health check: the next query already goes to the next region in failover order.
    expect(await dig(estate.dns.port, fqdn)).toEqual([second!.address]);
    expect(estate.answer().addresses).toEqual([second!.address]);
    expect(estate.events.some((e) => e.kind === "drain" && e.region === first!.id)).toBe(true);
    const index = Number(/proof log entry (\d+)/.exec(drained.stdout)![1]);
    await until("the drain in a published checkpoint", () => (logSize() > index ? true : undefined));

    // A second one through the API; the third would leave nothing to answer: refused, nothing changed.
    const res = await fetch(`${url}/api/regions/${second!.id}/drain`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    expect(await dig(estate.dns.port, fqdn)).toEqual([third!.address]);
    const last = await cli(["traffic", "drain", third!.id, "--dashboard", url]);
    expect(last.status).toBe(2);
    expect(last.stderr).toContain(`refusing to drain ${third!.id}: it is the last undrained region`);
    const unknown = await cli(["traffic", "drain", "mars-1", "--dashboard", url]);
    expect(unknown.status).toBe(2);
    expect(estate.drained).toEqual([first!.id, second!.id]);

    const restored = await cli(["traffic", "restore", first!.id, "--dashboard", url]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(await dig(estate.dns.port, fqdn)).toEqual([first!.address]);
    expect(estate.drained).toEqual([second!.id]);
  }, 240_000);
});
