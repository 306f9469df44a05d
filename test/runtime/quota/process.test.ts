// `meridian ratelimit quota --config` as a real process, on PostgreSQL and on the embedded store (`--data`): what it
// acknowledged survives a kill -9 and a restart (usage, overrides, a revoked delegation's reclaimed usage), and a second
// process on the same schema or directory waits for the writer lock instead of interleaving with the first, then gives
// up naming why.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";
import { dropSchema, ensureQuotaDb, issuer, PG_URL, startAuditLog, TREE, uniqueSchema } from "./fixture.js";

const children: ChildProcess[] = [];
let dir = "";
let log: Awaited<ReturnType<typeof startAuditLog>>;
let id: Awaited<ReturnType<typeof issuer>>;
const schema = uniqueSchema("quota_proc");

function serve(configFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MERIDIAN_BIN, "ratelimit", "quota", "--config", configFile, "--port", "0"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    child.on("exit", (code) => reject(new Error(`quota exited ${code}: ${err}`)));
  });
}

beforeAll(async () => {
  await ensureQuotaDb();
  log = await startAuditLog();
  id = await issuer();
  dir = mkdtempSync(join(tmpdir(), "quota-proc-"));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(schema);
});

const stores = {
  postgres: { store: () => ({ postgres: PG_URL, schema }), held: () => `another quota service holds schema ${schema}` },
  embedded: { store: () => ({ dir: join(dir, "quota-data") }), held: () => `another quota service holds ${join(dir, "quota-data")}` },
};

describe.each(Object.keys(stores) as (keyof typeof stores)[])("meridian ratelimit quota (process, %s store)", (kind) => {
  it("keeps every acknowledged change across kill -9", async () => {
    const store = stores[kind].store();
    const file = join(dir, `quota-${kind}.json`);
    writeFileSync(file, JSON.stringify({ ...TREE, ...store, log: log.url, server: { auth: id.auth } }));
    let { child, url } = await serve(file);
    const call = async (method: string, path: string, who: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, { method, headers: { ...(await id.as(who)), ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers; the assertions check their shape
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", "alice", { amounts: { cpu: 4 } })).status).toBe(200);
    const o = await call("POST", "/v1/quota/overrides", "shop-lead", { node: "shop", dimension: "cpu", hard: 25, reason: "launch", expires_at: new Date(Date.now() + 86_400_000).toISOString() });
    expect((await call("POST", `/v1/quota/overrides/${o.body.id}/approve`, "acme-admin")).body.state).toBe("active");
    const d = await call("POST", "/v1/quota/delegations", "acme-admin", { from: "acme", to: "batch", kind: "application", amounts: { cpu: 20 }, owners: ["batch-lead"] });
    expect((await call("POST", "/v1/quota/nodes/batch/reserve", "batch-lead", { amounts: { cpu: 12 } })).status).toBe(200);
    expect((await call("POST", `/v1/quota/delegations/${d.body.id}/revoke`, "acme-admin")).body.reclaimed).toEqual({ cpu: 12 });
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", "alice", { amounts: { cpu: 15 } })).status).toBe(200);

    // A second process on the same schema does not start writing while the first holds it: it gives up, naming why.
    const second = join(dir, `second-${kind}.json`);
    writeFileSync(second, JSON.stringify({ ...TREE, ...store, log: log.url, lockWaitMs: 300, server: { auth: id.auth } }));
    const refused = spawnSync(process.execPath, [MERIDIAN_BIN, "ratelimit", "quota", "--config", second, "--port", "0"], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toContain(stores[kind].held());

    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    ({ child, url } = await serve(file));
    expect((await call("GET", "/v1/quota/nodes/alice", "alice")).body).toMatchObject({ usage: { cpu: 19 }, effective: { cpu: 25 } });
    expect((await call("GET", "/v1/quota/nodes/acme", "acme-admin")).body.usage).toEqual({ cpu: 19 });
    expect((await call("GET", "/v1/quota/nodes/batch", "acme-admin")).body).toMatchObject({ closed: true, usage: {} });
    // The approved override still binds: 19 + 7 > 25.
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", "alice", { amounts: { cpu: 7 } })).body.detail).toBe("shop cpu: 19 used + 7 requested > 25");
    child.kill("SIGTERM");
  });
});
