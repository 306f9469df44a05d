// HLC propagation and consistency tokens as a kit feature: a service that brings no HLC of its own gets them
// from the kit's default (runtime/clock's timeFromEnv, set by the `meridian` command for every service it
// serves): x-meridian-hlc in (refused unapplied when malformed or beyond max offset) and out, its epoch,
// x-meridian-time, and epoch-checked consistency tokens on writes. Without the variable, nothing changes;
// a service with its own HLC keeps it. The process test (real CLI, `meridian health serve`) is below.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { clockService, compare, format, parse, timeFromEnv } from "../../../runtime/clock/index.js";
import { defineService, startService, type RunningService } from "../../../runtime/kit/index.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";

const plain = defineService({
  name: "plain",
  config: z.object({}).strict(),
  start() {
    let n = 0;
    return {
      routes(app) {
        app.get("/v1/n", { config: { auth: "public" } }, async () => ({ n }));
        app.post("/v1/n", { config: { auth: "public" } }, async () => ({ n: ++n }));
      },
    };
  },
});

const running: RunningService[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

describe("the kit's default HLC", () => {
  it("gives a service without its own HLC the time headers and epoch-checked consistency tokens", async () => {
    const s = await startService(plain, { server: { port: 0 } }, { processMetrics: false, time: timeFromEnv({ MERIDIAN_HLC_MAX_OFFSET_MS: "250" }) });
    running.push(s);
    const ahead = { wall: (Date.now() + 150) * 1000, logical: 9 };
    let res = await fetch(`${s.url}/v1/n`, { headers: { "x-meridian-hlc": format(ahead) } });
    expect(res.status).toBe(200);
    expect(compare(parse(res.headers.get("x-meridian-hlc")!), ahead)).toBeGreaterThan(0);
    expect(res.headers.get("x-meridian-hlc-epoch")).toBe("0");
    expect(res.headers.get("x-meridian-time")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(res.headers.get("x-meridian-consistency")).toBeNull(); // reads carry no token
    res = await fetch(`${s.url}/v1/n`, { method: "POST" });
    const token = res.headers.get("x-meridian-consistency")!;
    expect(compare(parse(token), ahead)).toBeGreaterThan(0);
    // Refused before the handler runs: nothing incremented.
    expect((await fetch(`${s.url}/v1/n`, { method: "POST", headers: { "x-meridian-hlc": "soon" } })).status).toBe(400);
    expect((await fetch(`${s.url}/v1/n`, { method: "POST", headers: { "x-meridian-hlc": `${(Date.now() + 60_000) * 1000}.0` } })).status).toBe(409);
    expect((await fetch(`${s.url}/v1/n`, { method: "POST", headers: { "x-meridian-consistency": `${token}@2` } })).status).toBe(409);
    expect((await fetch(`${s.url}/v1/n`, { method: "POST", headers: { "x-meridian-hlc-epoch": "-1" } })).status).toBe(400);
    expect(await (await fetch(`${s.url}/v1/n`)).json()).toEqual({ n: 1 });
    expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/^meridian_hlc_epoch\{service="plain"\} 0$/m);
  });

  it("an unauthenticated caller cannot move the service's clock: its time headers are taken in only after authorization", async () => {
    const guarded = defineService({
      name: "guarded",
      config: z.object({}).strict(),
      start: () => ({
        routes(app) {
          app.post("/v1/op", { config: { auth: "operator" } }, async () => ({ ok: true }));
          app.get("/v1/now", { config: { auth: "public" } }, async () => ({}));
        },
      }),
    });
    const s = await startService(guarded, { server: { port: 0 } }, { processMetrics: false, time: timeFromEnv({ MERIDIAN_HLC_MAX_OFFSET_MS: "5000" }) });
    running.push(s);
    const ahead = { wall: (Date.now() + 4000) * 1000, logical: 7 };
    const refused = await fetch(`${s.url}/v1/op`, { method: "POST", headers: { "x-meridian-hlc": format(ahead) } });
    expect(refused.status).toBe(401);
    // Neither the refusal nor the next answer carries a clock pushed to the stranger's timestamp.
    expect(compare(parse(refused.headers.get("x-meridian-hlc")!), ahead)).toBeLessThan(0);
    expect(compare(parse((await fetch(`${s.url}/v1/now`)).headers.get("x-meridian-hlc")!), ahead)).toBeLessThan(0);
  });

  it("changes nothing without MERIDIAN_HLC_MAX_OFFSET_MS, refuses a malformed one, and never replaces a service's own HLC", async () => {
    const s = await startService(plain, { server: { port: 0 } }, { processMetrics: false, time: timeFromEnv({}) });
    running.push(s);
    const res = await fetch(`${s.url}/v1/n`, { headers: { "x-meridian-hlc": "soon" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-meridian-hlc")).toBeNull();
    await expect(startService(plain, { server: { port: 0 } }, { processMetrics: false, time: timeFromEnv({ MERIDIAN_HLC_MAX_OFFSET_MS: "soon" }) })).rejects.toThrow(/MERIDIAN_HLC_MAX_OFFSET_MS=soon/);
    // The clock service brings its own node: the default (max offset 60 s) is not used, its 250 ms is.
    const c = await startService(clockService, { region: "r1", maxOffsetMs: 250, server: { port: 0 } }, { processMetrics: false, time: timeFromEnv({ MERIDIAN_HLC_MAX_OFFSET_MS: "60000" }) });
    running.push(c);
    expect((await fetch(`${c.url}/v1/time`, { headers: { "x-meridian-hlc": `${(Date.now() + 5_000) * 1000}.0` } })).status).toBe(409);
    expect(compare(parse((await fetch(`${c.url}/v1/time`)).headers.get("x-meridian-hlc")!), c.parts.node.hlc.peek())).toBe(0);
  });
});

describe("a served process (meridian health serve) as deployed", () => {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "kit-hlc-"));
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const serve = (env: NodeJS.ProcessEnv): Promise<string> => {
    const file = join(dir, "health.json");
    writeFileSync(file, JSON.stringify({ region: "r1", signals: [{ name: "none", path: "/healthz/none", probes: [] }] }));
    const child = spawn(process.execPath, [MERIDIAN_BIN, "health", "serve", "--config", file, "--port", "0"], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    children.push(child);
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`health serve exited ${code}: ${err}`)));
    });
  };

  it("propagates the HLC when the pod's environment gives a max offset, and not otherwise", async () => {
    const withHlc = await serve({ MERIDIAN_HLC_MAX_OFFSET_MS: "250" });
    let res = await fetch(`${withHlc}/signals/none`);
    expect(res.headers.get("x-meridian-hlc")).toMatch(/^\d+\.\d+$/);
    expect(res.headers.get("x-meridian-hlc-epoch")).toBe("0");
    res = await fetch(`${withHlc}/signals/none`, { headers: { "x-meridian-hlc": `${(Date.now() + 60_000) * 1000}.0` } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe("untrustworthy HLC timestamp");
    const without = await serve({ MERIDIAN_HLC_MAX_OFFSET_MS: "" });
    expect((await fetch(`${without}/signals/none`)).headers.get("x-meridian-hlc")).toBeNull();
  }, 60_000);
});
