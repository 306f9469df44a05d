/**
 * Operator controls on a running `meridian local` estate, through its dashboard:
 * - routing: `meridian traffic drain <region> --dashboard <url>` takes the region out of the GSLB's answers at
 *   once (real dig), logs the change in the estate's proof log, refuses to drain the last undrained region
 *   (exit 2), and `restore` hands it back;
 * - chaos: `meridian chaos skew|degrade|… --region <id>` sets a timed fault that reverts by itself, `list` and
 *   `revert` it; values are checked before the estate is asked, its refusals are exit 2, no estate is exit 1.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { LocalEstate } from "../../../runtime/local/estate.js";
import { startDashboard } from "../../../runtime/local/dashboard.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";
import pLimit from "p-limit";

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

describe("operator controls on a running local estate: traffic drain|restore, chaos", () => {
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
    const logSize = async () => (await estate.globals.log.client.checkpoint()).checkpoint.size;

    const drained = await cli(["traffic", "drain", first!.id, "--dashboard", url]);
    expect(drained.status, drained.stderr).toBe(0);
    expect(drained.stdout).toMatch(new RegExp(`drained ${first!.id} on the running estate: drained now ${first!.id}; proof log entry \\d+`));
    // No waiting for a health check: the next query already goes to the next region in failover order.
    expect(await dig(estate.dns.port, fqdn)).toEqual([second!.address]);
    expect(estate.answer().addresses).toEqual([second!.address]);
    expect(estate.events.some((e) => e.kind === "drain" && e.region === first!.id)).toBe(true);
    const index = Number(/proof log entry (\d+)/.exec(drained.stdout)![1]);
    await until("the drain in a published checkpoint", async () => ((await logSize()) > index ? true : undefined));

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

  it("meridian chaos: skew and degradation on the running estate from the CLI, each reverting by itself or on request; mistakes named", async () => {
    const state = async (id: string) => (await (await fetch(`${estate.region(id).url}/state`)).json()) as { clock: { skewMs: number }; signals: Record<string, boolean> };
    const skew = await cli(["chaos", "skew", "--region", "local-gcp", "--skew-ms", "400", "--duration", "3", "--dashboard", url]);
    expect(skew.status, skew.stderr).toBe(0);
    const skewId = Number(/^fault (\d+) on local-gcp: clock skew 400 ms for 3 s; reverts by itself at \d\d:\d\d:\d\dZ/.exec(skew.stdout)?.[1]);
    expect(estate.chaos.active().map((a) => a.id)).toContain(skewId);
    expect((await state("local-gcp")).clock.skewMs).toBe(400);

    const degrade = await cli(["chaos", "degrade", "--region", "local-aws", "--service", "escrow", "--duration", "120", "--json", "--dashboard", url]);
    expect(degrade.status, degrade.stderr).toBe(0);
    const active = JSON.parse(degrade.stdout) as { id: number; fault: object; revertAtMs: number; startedAtMs: number };
    expect(active.fault).toEqual({ kind: "degrade", region: "local-aws", service: "escrow" });
    expect(active.revertAtMs - active.startedAtMs).toBe(120_000);
    expect((await state("local-aws")).signals.escrow).toBe(false);
    const list = await cli(["chaos", "list", "--dashboard", url]);
    expect(list.stdout).toMatch(new RegExp(`^fault ${active.id}  local-aws  escrow forced failing  reverts at `, "m"));
    const reverted = await cli(["chaos", "revert", String(active.id), "--dashboard", url]);
    expect(reverted.status, reverted.stderr).toBe(0);
    expect((await state("local-aws")).signals.escrow).toBe(true);

    // What the estate refuses is named (exit 2); a value out of range never reaches it; no estate is exit 1.
    const cases: [string[], number, string][] = [
      [["chaos", "skew", "--region", "mars-1", "--skew-ms", "5"], 2, 'meridian: fault: no region "mars-1" in this estate; expected one of local-aws, local-gcp, local-azure\n'],
      [["chaos", "degrade", "--region", "local-aws", "--service", "dns"], 2, 'meridian: fault: region local-aws has no service "dns"; it runs clock, ratelimit, escrow\n'],
      [["chaos", "revert", "999"], 2, "meridian: fault 999 is not active\n"],
      [["chaos", "loss", "--region", "local-aws", "--loss", "1.5"], 2, 'meridian: --loss: expected a share of connections in (0, 1], got "1.5"\n'],
      [["chaos", "partition", "--region", "local-aws", "--duration", "601"], 2, 'meridian: --duration: expected seconds (0-600], got "601"\n'],
    ];
    // Two at a time (a CLI process each; none is let through to change the estate), and while the skew runs out: one
    // after another, after it, they took ~3 s.
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const slots = pLimit(2);
    const refusals = Promise.all([
      Promise.all(cases.map(([args]) => slots(() => cli([...args, "--dashboard", url])))),
      slots(() => cli(["chaos", "list", "--dashboard", `http://127.0.0.1:${closed}`])),
    ]);

    // The skew reverts by itself, back to the region's own clock.
    await until("the skew to revert by itself", () => (estate.chaos.active().some((a) => a.id === skewId) ? undefined : true), 30_000);
    expect((await state("local-gcp")).clock.skewMs).toBe(0);
    expect((await cli(["chaos", "list", "--dashboard", url])).stdout).toBe("no faults in force\n");

    const [results, none] = await refusals;
    cases.forEach(([args, status, stderr], i) => expect([results[i]!.status, results[i]!.stderr], args.join(" ")).toEqual([status, stderr]));
    expect(estate.chaos.active()).toEqual([]);
    expect(none.status).toBe(1);
    expect(none.stderr).toBe(`meridian: cannot reach a running meridian local at http://127.0.0.1:${closed} (ECONNREFUSED); start one with \`npm start\` or pass --dashboard <url>\n`);
  }, 240_000);
});
