/**
 * The local estate's attestation verifier, quota service and the verifiable map quota publishes to, on the embedded
 * stores (`meridian local`) and on PostgreSQL (`meridian local --postgres`): configured from the stack as the estate
 * renders them, answering on their real routes with the supervisor's operator identity, recording in the local proof
 * log, a tenant's usage readable from the map proven against a root in a checkpoint the log signed (`meridian map get`,
 * as the summary prints it), and on PostgreSQL keeping what their stores promise across an estate restart. On the
 * embedded stores, escrow's balances too: after sales a region's balance of a SKU is proven from map `escrow`
 * (`meridian map get escrow <region>/<sku>`), and only escrow's token may write that map.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { LocalEstate } from "../../../runtime/local/estate.js";
import { encodeAuditEvent, generateKey } from "../../../runtime/prooflog/index.js";
import { escrowMapKey } from "../../../runtime/escrow/map-publisher.js";
import { escrowMapCredential, logSubmitterScope, mapWriterScope } from "../../../runtime/local/trust-services.js";
import { quotaMapKey } from "../../../runtime/quota/map-publisher.js";
import { readLogged } from "../../../runtime/vmap/index.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";

const DB = `meridian_local_trust_${process.pid}`;
const POSTGRES = `postgres://postgres@127.0.0.1:5432/${DB}`;
const AK = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();

/** The local stack with one endorsed node and one tenant the local operator administers, in the stack's own config map. */
function localWithNodeAndTenant() {
  const map = readStackConfigMap("local");
  const runtime = map["meridian:runtime"] as Record<string, Record<string, unknown>>;
  map["meridian:runtime"] = {
    ...runtime,
    attest: { ...runtime["attest"], nodes: { "node-1": { ak: AK, reference: { sha256: { "16": "ab".repeat(32) } } } } },
    quota: { ...runtime["quota"], authorities: ["local-operator"], tenants: [{ id: "team-a", hard: { cpu: 10, memory: 64 } }] },
  };
  return buildEstateSpec("local", parseEstateConfig(map, "local (node and tenant)"));
}

const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
beforeAll(async () => {
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
});
afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
});

const spec = localWithNodeAndTenant();
const call = async (estate: LocalEstate, url: string, body?: unknown) =>
  fetch(url, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${await estate.operator.token()}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const meridian = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [MERIDIAN_BIN, ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr }),
    ),
  );

/** team-a's usage in the map once it shows `cpu`, proven against a logged, signed root. */
async function provenUsage(estate: LocalEstate, cpu: number) {
  const o = { mapUrl: estate.globals.map.url, logUrl: estate.globals.log.url, verifierKey: estate.globals.log.verifierKey };
  for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const r = await readLogged(o, "quota", quotaMapKey("team-a"));
    const value = r.value && (JSON.parse(r.value.toString("utf8")) as { usage: Record<string, number> });
    if (value?.usage["cpu"] === cpu) return { ...r, value };
    if (Date.now() > deadline) throw new Error(`team-a's cpu in the map is ${JSON.stringify(value)}, not ${cpu}`);
  }
}

const SKU = Object.keys(spec.runtime.escrow.inventory)[0]!;
const REGION = "local-aws";

interface Balance {
  region: string;
  sku: string;
  held: number;
  free: number;
  reserved: number;
  total: number;
  sold: number;
}

/** The region's balance of SKU in the map once it shows `sold`, proven against a logged, signed root. */
async function provenBalance(estate: LocalEstate, sold: number) {
  const o = { mapUrl: estate.globals.map.url, logUrl: estate.globals.log.url, verifierKey: estate.globals.log.verifierKey };
  let last: unknown;
  for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
    // Until escrow's first batch, the map is at revision 0, which no log entry names.
    const head = (await (await fetch(`${o.mapUrl}/v1/maps/escrow/root`)).json()) as { revision: number };
    if (head.revision === 0) {
      if (Date.now() > deadline) throw new Error("escrow never published to the map");
      continue;
    }
    const r = await readLogged(o, "escrow", escrowMapKey(REGION, SKU));
    const value = r.value && (JSON.parse(r.value.toString("utf8")) as Balance);
    if (value?.sold === sold) return { ...r, value };
    last = value;
    if (Date.now() > deadline) throw new Error(`${REGION}/${SKU} in the map is ${JSON.stringify(last)}, not sold ${sold}`);
  }
}

// One embedded-store estate for quota's map and escrow's: each test reads only its own map's keys. Its two tests run
// one after the other; the PostgreSQL estate's test (its own estate, database and ports) runs beside them both
// (describe.concurrent on the two suites): one after the other they took ~14 s in CI, ~9 s of it that test's.
describe.concurrent("meridian local (embedded stores): quota and the verifiable map", () => {
  let estate: LocalEstate;
  beforeAll(async () => {
    estate = await LocalEstate.start({ spec, regionIds: [REGION], dnsPort: 0, basePort: 0 });
  }, 180_000);
  afterAll(() => estate?.stop());

  it("runs quota on its embedded store and publishes to the map; `meridian map get` proves a tenant's usage against a signed checkpoint", { concurrent: false }, async () => {
    const q = estate.globals.quota;
    expect(q.store).toMatch(/^files in .*quota$/);
    expect((await call(estate, `${q.url}/v1/quota/nodes/team-a/reserve`, { amounts: { cpu: 6 } })).status).toBe(200);
    expect((await call(estate, `${q.url}/v1/quota/nodes/team-a/reserve`, { amounts: { cpu: 5 } })).status).toBe(409);
    // Usage reads on the embedded store: served as the primary would.
    expect(await (await call(estate, `${q.url}/v1/quota/nodes/team-a/usage`)).json()).toMatchObject({ usage: { cpu: 6 }, servedBy: "primary" });
    const proven = await provenUsage(estate, 6);
    expect(proven.value).toMatchObject({ node: "team-a", hard: { cpu: 10, memory: 64 } });
    expect(proven.checkpoint.origin).toBe(spec.runtime.prooflog.origin);
    expect(proven.checkpoint.size).toBeGreaterThan(proven.logIndex);
    // The map takes writes from quota's token only: the operator's own is refused.
    const forged = await call(estate, `${estate.globals.map.url}/v1/maps/quota/writes`, { writes: [{ key: "team-a", value: Buffer.from("{}").toString("base64") }] });
    expect(forged.status).toBe(403);

    // The command the summary prints (run asynchronously: the estate answers from this process).
    const cli = await meridian(["map", "get", "quota", "--quota-node", "team-a", "--url", estate.globals.map.url, "--log", estate.globals.log.url, "--vkey", estate.globals.log.verifierKey]);
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ map: "quota", key: "team-a", value: { usage: { cpu: 6 } }, proven: "present (inclusion proof)" });
    // Checkpoints checked with another key for the same origin prove nothing: the read is refused.
    const other = await meridian(["map", "get", "quota", "team-a", "--url", estate.globals.map.url, "--log", estate.globals.log.url, "--vkey", generateKey(spec.runtime.prooflog.origin).verifierKey]);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/map get quota team-a: .*(signature|verif)/i);
    expect(await estate.globals.state()).toMatchObject({ quota: { url: q.url }, map: { url: estate.globals.map.url, map: "quota, escrow" } });
  });

  it(
    "escrow: after sales, `meridian map get escrow <region>/<sku>` proves the region's balance against a signed checkpoint; only escrow may write the map",
    { timeout: 180_000, concurrent: false },
    async () => {
      const url = `${estate.region(REGION).url}/escrow`;
      const auth = { authorization: `Bearer ${await estate.globals.buyers.token("u1")}` };
      const buy = async (qty: number) => {
        const res = await fetch(`${url}/v1/inventory/${SKU}/reservations`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ qty }) });
        expect(res.status, await res.clone().text()).toBe(201);
        const { reservationId } = (await res.json()) as { reservationId: string };
        expect((await fetch(`${url}/v1/reservations/${reservationId}/commit`, { method: "POST", headers: auth })).status).toBe(200);
      };
      await buy(2);
      await buy(1);
      const proven = await provenBalance(estate, 3);
      const audit = (await estate.globals.escrow.store.audit(SKU, Date.now()))!;
      expect(proven.value).toMatchObject({ region: REGION, sku: SKU, total: spec.runtime.escrow.inventory[SKU], sold: 3 });
      expect(proven.value.held).toBe(proven.value.free + proven.value.reserved);
      expect(audit).toMatchObject({ sold: 3 });
      expect(proven.checkpoint.origin).toBe(spec.runtime.prooflog.origin);
      expect(proven.checkpoint.size).toBeGreaterThan(proven.logIndex);

      // The command the summary prints (run asynchronously: the estate answers from this process).
      const key = escrowMapKey(REGION, SKU);
      const cli = await meridian(["map", "get", "escrow", key, "--url", estate.globals.map.url, "--log", estate.globals.log.url, "--vkey", estate.globals.log.verifierKey]);
      expect(cli.status, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ map: "escrow", key, value: { region: REGION, sku: SKU, sold: 3 }, proven: "present (inclusion proof)" });

      // Non-writers of map escrow: the operator, quota's token, no token at all. Escrow's own token may not write quota's map.
      const write = async (map: string, token?: string) =>
        fetch(`${estate.globals.map.url}/v1/maps/${map}/writes`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ writes: [{ key, value: Buffer.from('{"sold":0}').toString("base64") }] }),
        });
      const operator = await write("escrow", await estate.operator.token());
      expect(operator.status).toBe(403);
      expect(await operator.text()).toMatch(/may not write map escrow/);
      expect((await write("escrow", await estate.operator.token({ subject: "local-quota", scope: mapWriterScope("quota") }))).status).toBe(403);
      expect((await write("escrow")).status).toBe(401);
      const escrowToken = (await escrowMapCredential(estate.globals.map, estate.operator.token)).token;
      expect((await write("quota", escrowToken)).status).toBe(403);
      // Nothing a non-writer sent reached the map: the balance still proves as escrow published it.
      expect((await provenBalance(estate, 3)).value).toEqual(proven.value);
    },
  );
  it(
    "the proof log takes appends only from the estate's services, each by the token standing in for its SPIFFE ID: anonymous 401, the operator 403, one service's token naming another as actor 403",
    { concurrent: false },
    async () => {
      const log = estate.globals.log;
      const id = (sa: string) => `spiffe://${spec.pki.trustDomain}/ns/meridian/sa/${sa}`;
      const [ATTEST, QUOTA] = [id("attest"), id("quota")];
      let tick = 0;
      const event = (actor: string) => encodeAuditEvent({ actor, action: "attest.result", subject: "node-x", timestamp: { wallTime: Date.now(), logical: tick++ } });
      const add = (entry: Uint8Array, token?: string, headers: Record<string, string> = {}) =>
        fetch(`${log.url}/add`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/octet-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: Buffer.from(entry),
        });
      // Anyone on loopback: no credential, no append (an audit event naming attest, or any bytes).
      expect((await add(event(ATTEST))).status).toBe(401);
      expect((await add(Buffer.from("anonymous bytes"))).status).toBe(401);
      // Headers a caller writes name nobody: the log reads no XFCC or x-spiffe-id here.
      expect((await add(event(ATTEST), undefined, { "x-spiffe-id": ATTEST, "x-forwarded-client-cert": `URI=${ATTEST}` })).status).toBe(401);
      // Quota's own token naming attest as the actor: 403, naming both.
      const quotaToken = await estate.operator.token({ subject: "local-quota", scope: logSubmitterScope(QUOTA) });
      const forged = await add(event(ATTEST), quotaToken);
      expect(forged.status).toBe(403);
      const why = await forged.text();
      expect(why).toContain(QUOTA);
      expect(why).toContain(ATTEST);
      // The map's token may not speak for attest either; the operator's token is no submitter at all.
      expect((await add(event(ATTEST), await estate.operator.token({ subject: "local-map", scope: logSubmitterScope(id("map")) }))).status).toBe(403);
      expect((await add(event(ATTEST), await estate.operator.token())).status).toBe(403);
      expect((await add(Buffer.from("operator bytes"), await estate.operator.token())).status).toBe(403);
      // Attest's token names attest: taken, as quota's names a principal it authenticated.
      expect((await add(event(ATTEST), await estate.operator.token({ subject: "local-attest", scope: logSubmitterScope(ATTEST) }))).status).toBe(200);
      expect((await add(event("local-operator"), quotaToken)).status).toBe(200);
    },
  );
});

describe.concurrent("meridian local --postgres: attest, quota and the map", () => {
  const start = () => LocalEstate.start({ spec, regionIds: ["local-aws"], dnsPort: 0, basePort: 0, postgresUrl: POSTGRES });

  it("answers on their routes, log to the local proof log, and keep revocations and usage across an estate restart", async () => {
    let estate = await start();
    try {
      const attest = estate.globals.attest.url;
      const q = estate.globals.quota;
      expect(estate.globals.attest.store).toBe("postgres schema meridian_attest_local_aws");
      expect((await fetch(`${attest}/v1/attest/nonce`, { method: "POST" })).status).toBe(200);

      // The operator revokes the stack's endorsed node; the revocation is signed into the local proof log.
      const before = (await estate.globals.log.client.checkpoint()).checkpoint.size;
      const revoked = await call(estate, `${attest}/v1/attest/revoke`, { node: "node-1", reason: "lost laptop" });
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toMatchObject({ node: "node-1", by: "jwt:local-operator" });
      expect(await logGrows(estate, before)).toBe(true);
      // A revoked AK is refused before its evidence is looked at.
      const verify = () =>
        fetch(`${attest}/v1/attest/verify`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ node: "node-1", nonce: "00", message: "", signature: "", pcrs: "" }),
        });
      expect((await verify()).status).toBe(403);

      // Quota decisions on the stack's tree: within the tenant's hard limit, then beyond it.
      const reserve = (cpu: number) => call(estate, `${q.url}/v1/quota/nodes/team-a/reserve`, { amounts: { cpu } });
      expect((await reserve(6)).status).toBe(200);
      const over = await reserve(5);
      expect(over.status).toBe(409);
      expect(await over.text()).toMatch(/team-a cpu: 6 used \+ 5 requested > 10/);
      expect((await provenUsage(estate, 6)).value).toMatchObject({ node: "team-a" });
      // Principals come from verified tokens only: none, 401.
      expect((await fetch(`${q.url}/v1/quota/nodes/team-a/reserve`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"amounts":{"cpu":1}}' })).status).toBe(401);
      // An audited decision (an override request) is in the local proof log.
      const sizeBefore = (await estate.globals.log.client.checkpoint()).checkpoint.size;
      const override = await call(estate, `${q.url}/v1/quota/overrides`, { node: "team-a", dimension: "cpu", hard: 12, reason: "launch", expires_at: new Date(Date.now() + 3600_000).toISOString() });
      expect(override.status).toBe(201);
      expect(((await override.json()) as { logIndex: number }).logIndex).toBeGreaterThanOrEqual(sizeBefore);
      expect(await estate.globals.state()).toMatchObject({ attest: { url: attest }, quota: { url: q.url, store: "postgres schema meridian_quota" } });
    } finally {
      await estate.stop();
    }

    // Restart: PostgreSQL kept the revocation and the usage; the stopped services freed their schemas' locks.
    estate = await start();
    try {
      const q = estate.globals.quota;
      // The map kept its state in PostgreSQL too, its head still in the (same) log.
      expect((await provenUsage(estate, 6)).value).toMatchObject({ node: "team-a" });
      const node = (await (await call(estate, `${q.url}/v1/quota/nodes/team-a`)).json()) as { usage: Record<string, number> };
      expect(node.usage).toMatchObject({ cpu: 6 });
      expect((await call(estate, `${q.url}/v1/quota/nodes/team-a/reserve`, { amounts: { cpu: 5 } })).status).toBe(409);
      const attest = estate.globals.attest.url;
      const verify = await fetch(`${attest}/v1/attest/verify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ node: "node-1", nonce: "00", message: "", signature: "", pcrs: "" }),
      });
      expect(verify.status).toBe(403);
      expect(await verify.text()).toMatch(/revoked by jwt:local-operator/);
    } finally {
      await estate.stop();
    }
  });
});

async function logGrows(estate: LocalEstate, before: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await estate.globals.log.client.checkpoint()).checkpoint.size > before) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
