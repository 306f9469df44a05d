// A changed stack value reaches the running service through its rendered config file, with no image
// rebuild: the stack map is edited (escrow inventory, clock skew thresholds, rate limit, log origin),
// rendered by the model exactly as the workloads component renders each ConfigMap, the files written
// where the ConfigMap would be mounted (a temp dir stands in for /etc/meridian), and the workload's own
// command line run as a real `meridian … serve` process — then the value is read back over HTTP. The
// process's stack directory (MERIDIAN_STACKS_DIR) is empty, so a service that read a stack file would fail.
import type { ChildProcess } from "node:child_process";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { generateKeyPairSync } from "node:crypto";
import pg from "pg";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { allowedCallerIds, runtimeService, spiffeId } from "../../../model/services.js";
import { CONFIG_DIR, HTTP_PORT, regionWorkloads, type WorkloadSpec } from "../../../model/workloads/spec.js";
import { grandmasterService, UPPER_BOUND_FILE } from "../../../runtime/clock/index.js";
import { startService } from "../../../runtime/kit/index.js";
import { checkpointTimeOf } from "../../../runtime/prooflog/commit-wait.js";
import { parseCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import { generateKey, parseSignedNote, verifierKeyOf } from "../../../runtime/prooflog/note.js";
import { encodeAuditEvent, LogClient, newSigner, newVerifier, signCheckpoint, verifyEquivocation, type Equivocation } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/services.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { runCli } from "../../cli.js";
import { ServerProcesses } from "../../rendered-workload.js";

const REGION = "aws-euw1";
const root = mkdtempSync(join(tmpdir(), "rendered-config-"));
const servers = new ServerProcesses();
/** No stack files: the services must run from their config files alone. */
const NO_STACKS = { ...process.env, MERIDIAN_STACKS_DIR: mkdtempSync(join(root, "no-stacks-")) };
afterAll(() => {
  servers.killAll();
  rmSync(root, { recursive: true, force: true });
});

/** A node's attestation key as `tpm2_readpublic -f pem` writes it (an RSA public key in SPKI PEM). */
const ATTEST_AK = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();

/** The log's key: its signer in the log's Secret, its verifier key in the stack (what the monitors check against). */
const LOG_KEYS = generateKey("changed.example.org/log");

/**
 * The escrow's Secret (its transition log's signer key, the first line `meridian note keygen` prints), as the pod
 * mounts it; the service refuses to start without it (a kept log needs its key).
 */
const ESCROW_TRANSITION_KEYS = generateKey("meridian-escrow");
const ESCROW_SECRETS = { "signer.key": `${ESCROW_TRANSITION_KEYS.signerKey}\n` };

/** prod, with the values under test changed in the stack's own config map (so the stack schema checks them). */
function changedProd(): EstateSpec {
  const map = readStackConfigMap("prod");
  const runtime = map["meridian:runtime"] as Record<string, Record<string, unknown>>;
  const time = map["meridian:time"] as Record<string, unknown>;
  map["meridian:runtime"] = {
    ...runtime,
    escrow: { ...runtime["escrow"], inventory: { "concert-2027": 12_345 } },
    ratelimit: { ...runtime["ratelimit"], requestsPerSecond: 777 },
    // No witnesses here (their keys sign for prod's log): the deployed witnesses run in witness-deployed.test.ts.
    prooflog: { ...runtime["prooflog"], origin: "changed.example.org/log", verifierKey: LOG_KEYS.verifierKey, witnesses: [], witnessThreshold: undefined },
    attest: { ...runtime["attest"], nodes: { "node-1": { ak: ATTEST_AK, reference: { sha256: { "16": "ab".repeat(32) } } } } },
  };
  map["meridian:time"] = { ...time, maxOffsetMs: 400, skew: { degradeFraction: 0.3, freezeFraction: 0.6, recoveryHoldSeconds: 42 } };
  return buildEstateSpec("prod", parseEstateConfig(map, "prod (changed)"));
}

const spec = changedProd();
const baseline = buildEstateSpec("prod", parseEstateConfig(readStackConfigMap("prod"), "prod"));
const workload = (s: EstateSpec, name: string): WorkloadSpec => regionWorkloads(s, REGION).find((w) => w.service.name === name)!;

/**
 * Write the workload's ConfigMap where its volume would be mounted, and run its own args with what a
 * test cannot provide swapped out: the mount point (a temp dir), the listen port (ephemeral, loopback),
 * and the store URLs (secrets in the pod; here each service's in-memory or embedded store).
 */
async function serve(w: WorkloadSpec, extra: string[] = []): Promise<string> {
  expect(w.args).toContain(String(HTTP_PORT));
  // Config files and per-pod state (the clock's HLC upper bound) live under the test's directory.
  return (await servers.startRendered(w, { configRoot: root, stateRoot: `${root}/state` }, { extra, env: NO_STACKS })).url;
}

const getJson = async (url: string) => {
  const r = await fetch(url);
  expect(r.status, url).toBe(200);
  return (await r.json()) as Record<string, unknown>;
};

describe("a changed stack value reaches the running service through its rendered config", () => {
  it("without its config file, a serve that falls back to a stack fails here (the check can fail)", () => {
    const r = runCli(["escrow", "serve", "--port", "0", "--stack", "prod"], { env: NO_STACKS });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Pulumi\.prod\.yaml.*no such stack/s);
  });

  it("escrow serves the changed inventory", async () => {
    const w = workload(spec, "escrow");
    expect(workload(baseline, "escrow").config["escrow.json"]).toContain("50000");
    const url = (await servers.startRendered(w, { configRoot: root, stateRoot: `${root}/state` }, { secrets: ESCROW_SECRETS, env: NO_STACKS })).url;
    const view = await getJson(`${url}/v1/inventory/concert-2027`);
    expect(view).toMatchObject({ sku: "concert-2027", total: 12_345, sold: 0, available: 12_345 });
    // Behind its sidecar (server.identity): a buyer's request must come through a catalogued caller (`callers`),
    // read from the x-forwarded-client-cert the pod's sidecar appends; a buyer's JWT is still required.
    const td = spec.pki.trustDomain;
    const self = spiffeId(td, runtimeService("escrow"));
    const reserve = (headers: Record<string, string>) =>
      fetch(`${url}/v1/inventory/concert-2027/reservations`, { method: "POST", headers: { "content-type": "application/json", "x-region": REGION, ...headers }, body: "{}" });
    const stranger = await reserve({ "x-forwarded-client-cert": `By=${self};Hash=${"0".repeat(64)};URI=spiffe://${td}/ns/shop/sa/web` });
    expect(stranger.status).toBe(403);
    expect(((await stranger.json()) as { detail: string }).detail).toMatch(/^spiffe:\/\/.*\/ns\/shop\/sa\/web is not allowed: an mTLS peer with SPIFFE ID .*meridian-gateway/);
    const gateway = await reserve({ "x-forwarded-client-cert": `By=${self};Hash=${"0".repeat(64)};URI=${allowedCallerIds(td, "escrow").find((id) => id.includes("gateway"))}` });
    expect(gateway.status).toBe(401);
    expect(((await gateway.json()) as { detail: string }).detail).toMatch(/present a bearer JWT$/);
    expect((await getJson(`${url}/v1/inventory/concert-2027`))["reserved"]).toBe(0);
  }, 60_000);

  it("escrow keeps its transition log across a restart on PostgreSQL, under the key of the Secret the pod mounts", async () => {
    const w = workload(spec, "escrow");
    const db = `rendered_config_escrow_${process.pid}`;
    const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db}`);
    await admin.query(`CREATE DATABASE ${db}`);
    // The map is a cluster address here: a kept log whose anchors cannot be read at start is a new log by design
    // (runtime/escrow/transport/transitions-anchor.ts), so this run publishes to none.
    const noMap = (file: string, text: string) => {
      if (file !== "escrow.json") return text;
      const { map: _map, ...cfg } = JSON.parse(text) as Record<string, unknown>;
      return JSON.stringify(cfg);
    };
    const start = () =>
      servers.startRendered(
        w,
        { configRoot: root, stateRoot: `${root}/state` },
        { secrets: ESCROW_SECRETS, editConfig: noMap, extra: ["--postgres", `postgres://postgres@127.0.0.1:5432/${db}`], env: NO_STACKS },
      );
    const checkpoint = async (url: string) => (await getJson(`${url}/v1/transitions/checkpoint`)) as { origin: string; vkey: string; size: number };
    const stop = async (child: ChildProcess) => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    };
    try {
      const first = await start();
      const a = await checkpoint(first.url);
      expect(a.origin).toMatch(new RegExp(`^meridian-escrow/${REGION}/[0-9a-f]{16}$`));
      // Signed with the Secret's key (its note key ID is the log's name, its public key the operator's).
      const pub = (vkey: string) => vkey.split("+").slice(2).join("+");
      expect(pub(a.vkey)).toBe(pub(ESCROW_TRANSITION_KEYS.verifierKey));
      await stop(first.child);
      const second = await start();
      const b = await checkpoint(second.url);
      expect(b.origin).toBe(a.origin);
      expect(b.vkey).toBe(a.vkey);
      expect(b.size).toBeGreaterThanOrEqual(a.size);
      await stop(second.child);
    } finally {
      servers.killAll();
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  }, 90_000);

  it("clock runs the changed max offset and skew thresholds", async () => {
    const w = workload(spec, "clock");
    // The node time agent is a cluster DNS name; a local clock runs unsynchronised.
    const cfg = JSON.parse(w.config["clock.json"]!) as Record<string, unknown>;
    expect(cfg["agent"]).toBe("time-agent.meridian-time.svc.cluster.local:10125");
    delete cfg["agent"];
    w.config["clock.json"] = JSON.stringify(cfg);
    const url = await serve(w);
    const skew = await getJson(`${url}/v1/time/skew`);
    expect(skew["thresholds"]).toMatchObject({ degradeMs: 400 * 0.3, freezeMs: 400 * 0.6, recoveryHoldMs: 42_000 });
    // The HLC's upper bound is persisted on the pod's state volume (here: the test's directory).
    expect(existsSync(join(root, "state", "clock", UPPER_BOUND_FILE))).toBe(true);
  }, 60_000);

  it("ratelimit enforces the changed estate-wide limit as a global limit, its budget granted by the rendered allocator (Redis lease store)", async () => {
    const td = spec.pki.trustDomain;
    const prefix = `mrl:test:rendered-alloc:${process.pid}:`;
    // The allocator as rendered (its callers: the rate limit services' SPIFFE ID), its leases in this machine's Redis
    // (the secret `--redis` of the pod) under the test's own prefix.
    const allocator = await serve(workload(spec, "allocator"), ["--redis", "redis://127.0.0.1:6379/3", "--redis-prefix", prefix]);
    const xfccFrom = (peer: string) => `By=spiffe://${td}/ns/meridian/sa/ratelimit-allocator;Hash=${"0".repeat(64)};Subject="";URI=${peer}`;
    const ask = (headers: Record<string, string>) =>
      fetch(`${allocator}/v1/allocator/budget`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ resource: "probe", limit: 1, periodMs: 1000, client: "probe", window: 0, used: 0, wants: 0 }),
      });
    // Only the rate limit services may ask it (the sidecar's XFCC names the peer); a stranger, or no peer, is refused.
    expect((await ask({})).status).toBe(401);
    expect((await ask({ "x-forwarded-client-cert": xfccFrom(`spiffe://${td}/ns/meridian-gateway/sa/meridian-gateway`) })).status).toBe(403);
    // The allocator's sidecar stands between: it appends the caller's XFCC, as Istio does for the rate limit pods' mTLS.
    const sidecar = createServer((req, res) => {
      const out = httpRequest(
        `${allocator}${req.url}`,
        { method: req.method, headers: { ...req.headers, "x-forwarded-client-cert": xfccFrom(`spiffe://${td}/ns/meridian/sa/ratelimit-${REGION}`) } },
        (up) => {
          res.writeHead(up.statusCode!, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(out);
    });
    await new Promise<void>((resolve) => sidecar.listen(0, "127.0.0.1", resolve));
    try {
      const rl = workload(spec, "ratelimit");
      const cfg = JSON.parse(rl.config["ratelimit.json"]!) as { globalAllocator: { url: string; waitMs?: number } };
      expect(cfg.globalAllocator.url).toBe("http://allocator.meridian.svc.cluster.local:8080");
      // The allocator's Service is a cluster address: the test's sidecar stands in for it.
      cfg.globalAllocator.url = `http://127.0.0.1:${(sidecar.address() as AddressInfo).port}`;
      // waitMs (default 40 ms) bounds a decision for Envoy; this test checks where the budget comes from, so
      // the first, cold allocator call (new process, connection, script load) may take longer.
      cfg.globalAllocator.waitMs = 10_000;
      const url = await serve({ ...rl, config: { ...rl.config, "ratelimit.json": JSON.stringify(cfg) } }, ["--grpc-port", "0"]);
      // Behind its sidecar the service learns the caller from the x-forwarded-client-cert the sidecar appends
      // (By= the pod's own SPIFFE ID): here, as for an HTTP check from the escrow (httpCallers: the services; the
      // gateway checks over gRPC). Without it, no caller.
      const xfcc = `By=spiffe://${td}/ns/meridian/sa/ratelimit-${REGION};Hash=${"0".repeat(64)};Subject="";URI=spiffe://${td}/ns/meridian/sa/escrow`;
      const check = (headers: Record<string, string>) =>
        fetch(`${url}/v1/ratelimit`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ domain: spec.runtime.ratelimit.domain, descriptors: [{ entries: [{ key: "generic_key", value: spec.runtime.ratelimit.domain }] }] }),
        });
      expect((await check({})).status).toBe(401);
      const r = await check({ "x-forwarded-client-cert": xfcc });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { statuses: { current_limit: { requests_per_unit: number; unit: string } }[] };
      expect(body.statuses[0]!.current_limit).toMatchObject({ requests_per_unit: 777, unit: "second" });
      // The admission was spent from a budget the allocator granted this region's replica, kept in Redis.
      const redis = new Redis("redis://127.0.0.1:6379/3");
      try {
        const keys = await redis.keys(`${prefix}{budget:*`);
        expect(keys).toHaveLength(1);
        const clients = Object.keys(await redis.hgetall(keys[0]!));
        // Under the caller the sidecar verified (the allocator binds `client` to it); every region's limiters share it.
        expect(clients.some((c) => c.startsWith(`spiffe://${td}/ns/meridian/sa/ratelimit-${REGION}#${REGION}/`))).toBe(true);
        await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    } finally {
      sidecar.close();
    }
  }, 60_000);

  it("the attestation verifier endorses the changed node, keeps its registry in the region's schema, and takes revocations from operators only", async () => {
    const w = workload(spec, "attest");
    // The in-mesh proof log and the region's PostgreSQL are cluster addresses: a local log and this test's database stand in.
    const log = await startLogServer({
      origin: "rendered-config/log",
      signerKey: generateKey("rendered-config/log").signerKey,
      dataDir: join(root, "attest-log"),
      port: 0,
      checkpointIntervalMs: 100,
      notice: () => undefined,
    });
    const db = `rendered_config_attest_${process.pid}`;
    const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${db}`);
    await admin.query(`CREATE DATABASE ${db}`);
    const keys = generateKey(`${REGION}-attest`);
    const cfg = JSON.parse(w.config["attest.json"]!) as { key: string; store: { schema: string } };
    const keyFile = cfg.key.split(`${CONFIG_DIR}/`).join(`${root}/`);
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, `${keys.signerKey}\n`, { mode: 0o600 });
    try {
      const url = await serve(w, ["--postgres", `postgres://postgres@127.0.0.1:5432/${db}`, "--log", log.url]);
      const td = spec.pki.trustDomain;
      const self = spiffeId(td, runtimeService("attest"));
      // Only the region's SPIRE server may call the verifier (its rendered `callers`); the sidecar's XFCC says who called.
      const key = (peer?: string) => fetch(`${url}/v1/attest/key`, peer ? { headers: { "x-forwarded-client-cert": `By=${self};Hash=${"0".repeat(64)};URI=${peer}` } } : {});
      expect((await key()).status).toBe(401);
      expect((await key(spiffeId(td, runtimeService("escrow")))).status).toBe(403);
      const admitted = await key(`spiffe://${td}/spire/server`);
      expect(admitted.status).toBe(200);
      expect(await admitted.json()).toEqual({ verifierKey: verifierKeyOf(keys.signerKey) });
      const revoke = (peer: string) =>
        fetch(`${url}/v1/attest/revoke`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-client-cert": `By=${self};Hash=${"0".repeat(64)};URI=${peer}` },
          body: JSON.stringify({ node: "node-1", reason: "rendered-config test" }),
        });
      // The SPIRE server may verify, not revoke; the operator identity (the mesh's admin rule) may.
      expect((await revoke(`spiffe://${td}/spire/server`)).status).toBe(403);
      const ok = await revoke(`spiffe://${td}/ns/meridian/sa/meridian-operator`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ node: "node-1", by: `spiffe://${td}/ns/meridian/sa/meridian-operator` });
      // The revocation is in the region's own schema of the database, not in public.
      const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${db}` });
      await c.connect();
      const { rows } = await c.query<{ node: string }>(`SELECT node FROM ${cfg.store.schema}.attest_revoked`);
      const inPublic = await c.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'attest_revoked'");
      await c.end();
      expect(cfg.store.schema).toBe("meridian_attest_aws_euw1");
      expect(rows).toEqual([{ node: "node-1" }]);
      expect(inPublic.rowCount).toBe(0);
    } finally {
      servers.killAll();
      await log.app.close();
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    }
  }, 60_000);

  it("the proof log signs checkpoints for the changed origin, commit-waited on its rendered time reference", async () => {
    const rendered = workload(spec, "prooflog");
    // The node time agent is a cluster address (its chronyd a node's): a local grandmaster stands in for the reference, as the listen port does.
    const gm = await startService(grandmasterService, { ntp: { port: 0 }, server: { port: 0 } }, { processMetrics: false });
    const cfg = JSON.parse(rendered.config["prooflog.json"]!) as { maxOffsetMs: number; timeReference: { agent: string } };
    expect(cfg.maxOffsetMs).toBe(400);
    expect(cfg.timeReference).toEqual({ agent: "time-agent.meridian-time.svc.cluster.local:10125" });
    const w = { ...rendered, config: { ...rendered.config, "prooflog.json": JSON.stringify({ ...cfg, timeReference: { grandmaster: `127.0.0.1:${new URL(gm.endpoints["ntp"]!).port}` } }) } };
    const keyPath = w.args[w.args.indexOf("--key") + 1]!;
    const file = keyPath.split(`${CONFIG_DIR}/`).join(`${root}/`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, LOG_KEYS.signerKey, { mode: 0o600 });
    const url = await serve(w, ["--data", join(root, "prooflog-data")]);
    const checkpoint = await (await fetch(`${url}/checkpoint`)).text();
    expect(checkpoint.split("\n")[0]).toBe("changed.example.org/log");
    expect(checkpointTimeOf(parseCheckpoint(parseSignedNote(checkpoint).text))).toBeGreaterThan(0);
    // Appends only from the services that append, as the pod's sidecar reports them (XFCC, By = the log's own ID), each
    // as itself: quota's audit events name the tenant administrators it authenticated; one service's event naming
    // another service is refused, naming both; a reader of the log (the monitor) and a caller with no identity append nothing.
    const td = spec.pki.trustDomain;
    const id = (name: Parameters<typeof runtimeService>[0]) => spiffeId(td, runtimeService(name));
    const as = (peer: string) => ({ "x-forwarded-client-cert": `By=${id("prooflog")};Hash=${"0".repeat(64)};URI=${peer}` });
    const audit = (actor: string) => encodeAuditEvent({ timestamp: { wallTime: 1_700_000_000_000, logical: 0 }, actor, action: "rendered.test", subject: "s" });
    const add = (body: Uint8Array, headers: Record<string, string>) =>
      fetch(`${url}/add`, { method: "POST", body: Buffer.from(body), headers: { ...headers, "content-type": "application/octet-stream" } });
    expect((await add(audit("alice@tenant-a"), as(id("quota")))).status).toBe(200);
    expect((await add(audit(id("attest")), as(id("attest")))).status).toBe(200);
    expect((await add(Buffer.from("a map batch's root"), as(id("map")))).status).toBe(200);
    const forged = await add(audit(id("escrow")), as(id("attest")));
    expect(forged.status).toBe(403);
    expect(await forged.text()).toMatch(new RegExp(`${id("attest")}.*${id("escrow")}`));
    expect((await add(Buffer.from("not a reader's to write"), as(id("monitor")))).status).toBe(403);
    expect((await add(Buffer.from("anonymous"), {})).status).toBe(401);
    await gm.close();
  }, 60_000);

  it("each region's monitor, as rendered, verifies the log under the stack's key and publishes equivocation evidence, on /metrics too; a checkpoint under another key is refused", async () => {
    const log = await startLogServer({ origin: "changed.example.org/log", signerKey: LOG_KEYS.signerKey, dataDir: join(root, "monitored-log"), port: 0, checkpointIntervalMs: 10 });
    const other = spec.regions.find((r) => r.id !== REGION)!.id;
    const monitorUrl = (region: string) => `http://monitor-${region}.meridian.svc.cluster.local:8080`;
    /** The rendered monitor with the cluster addresses swapped for this machine's: the log, its peers, and a short interval. */
    const rendered = (region: string, peers: string[]) => {
      const w = regionWorkloads(spec, region).find((x) => x.service.name === "monitor")!;
      const cfg = JSON.parse(w.config["monitor.json"]!) as { log: string; policy: string; peers: string[]; intervalMs: number };
      expect(cfg.log).toBe("http://prooflog.meridian.svc.cluster.local:8080");
      expect(cfg.policy).toBe(`log ${LOG_KEYS.verifierKey}\nquorum none\n`);
      expect(cfg.peers).toContain(monitorUrl(region === REGION ? other : REGION));
      expect(cfg.peers).not.toContain(monitorUrl(region));
      // Each monitor its own state file (a Deployment's pods each have their own claim).
      return { ...w, config: { "monitor.json": JSON.stringify({ ...cfg, log: log.url, peers, intervalMs: 50, stateFile: join(root, "state", `monitor-${region}.json`) }) } };
    };
    // One after the other: both mount the same path, and each has read its file once it is listening.
    const peer = await serve(rendered(other, []));
    const url = await serve(rendered(REGION, [peer]));
    const client = new LogClient(log.url);
    for (let i = 0; i < 5; i++) await client.add(Buffer.from(`monitored ${i}`));
    await log.log.publishCheckpoint();
    const status = async (u: string) => (await getJson(`${u}/v1/status`)) as { size: number | null; entriesChecked: number; equivocations: number; lastError: string | null };
    while ((await status(url)).size !== 5) await new Promise((r) => setTimeout(r, 50));
    expect(await status(url)).toMatchObject({ size: 5, entriesChecked: 5, equivocations: 0, lastError: null });
    const metric = async (u: string, name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(await (await fetch(`${u}/metrics`)).text())?.[1]);
    expect(await metric(url, "meridian_monitor_checkpoint_size")).toBe(5);

    const gossip = (u: string, note: string) => fetch(`${u}/v1/gossip`, { method: "POST", headers: { "content-type": "text/plain" }, body: note });
    // A checkpoint for size 5 under a key that is not the stack's (same origin): refused, counted nowhere.
    const junk = signCheckpoint({ origin: "changed.example.org/log", size: 5, root: Buffer.alloc(32, 3), extensions: [] }, [newSigner(generateKey("changed.example.org/log").signerKey)]);
    expect((await gossip(peer, junk)).status).toBe(400);
    expect(await (await fetch(`${peer}/v1/evidence`)).json()).toEqual([]);
    expect(await metric(peer, "meridian_monitor_equivocations_total")).toBe(0);
    // The log's own key signing another root for size 5 (a split view): evidence, and the alert's counter.
    const forked = signCheckpoint({ origin: "changed.example.org/log", size: 5, root: Buffer.alloc(32, 9), extensions: [] }, [newSigner(LOG_KEYS.signerKey)]);
    expect(await (await gossip(url, forked)).json()).toEqual({ accepted: true, equivocation: true });
    const evidence = (await (await fetch(`${url}/v1/evidence`)).json()) as Equivocation[];
    expect(evidence.map((e) => e.size)).toEqual([5]);
    expect(verifyEquivocation(evidence[0]!, [newVerifier(LOG_KEYS.verifierKey)])).toBe(true);
    expect(await metric(url, "meridian_monitor_equivocations_total")).toBe(1);
    await log.app.close();
  }, 60_000);

  it("gossip crosses regions: a monitor shown a split view learns of it only from its peer's gossip", async () => {
    // Two logs under the stack's key and one origin, with different entries: what a log showing each region a
    // different view looks like. Region B's monitor follows one view and has no peers; region A's follows the other
    // and gossips to B's. Nothing else shows B the other view, so B's evidence can only have come by gossip.
    const origin = "changed.example.org/log";
    const views = await Promise.all(["view-a", "view-b"].map((v) => startLogServer({ origin, signerKey: LOG_KEYS.signerKey, dataDir: join(root, `split-${v}`), port: 0, checkpointIntervalMs: 10 })));
    for (const [i, v] of views.entries()) {
      const client = new LogClient(v.url);
      for (let n = 0; n < 3; n++) await client.add(Buffer.from(`view ${i} entry ${n}`));
      await v.log.publishCheckpoint();
    }
    const other = spec.regions.find((r) => r.id !== REGION)!.id;
    const rendered = (region: string, logUrl: string, peers: string[]) => {
      const w = regionWorkloads(spec, region).find((x) => x.service.name === "monitor")!;
      const cfg = JSON.parse(w.config["monitor.json"]!) as Record<string, unknown>;
      return { ...w, config: { "monitor.json": JSON.stringify({ ...cfg, log: logUrl, peers, intervalMs: 50, stateFile: join(root, "state", `split-${region}.json`) }) } };
    };
    const b = await serve(rendered(other, views[1]!.url, []));
    const a = await serve(rendered(REGION, views[0]!.url, [b]));
    const evidence = async (u: string) => (await (await fetch(`${u}/v1/evidence`)).json()) as Equivocation[];
    while ((await evidence(b)).length === 0) await new Promise((r) => setTimeout(r, 50));
    const [e] = await evidence(b);
    expect(e!.size).toBe(3);
    expect(verifyEquivocation(e!, [newVerifier(LOG_KEYS.verifierKey)])).toBe(true);
    // A, which nobody gossips to, verified its own view and holds no evidence.
    expect(await evidence(a)).toEqual([]);
    expect(((await getJson(`${a}/v1/status`)) as { size: number }).size).toBe(3);
    await Promise.all(views.map((v) => v.app.close()));
  }, 60_000);
});
