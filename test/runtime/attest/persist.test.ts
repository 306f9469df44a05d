// The attestation registry survives restarts: a real `meridian attest serve` process, with its registry in a file
// or in PostgreSQL, is killed with SIGKILL mid-enrolment and restarted. Tries to break exactly the guarantee: an
// enrolled node is still admitted (and its timestamp-mode clock registration still stops replays) while a node
// whose enrolment was cut off stays refused; a quote over a nonce used or issued before the restart is refused;
// an empty store without the log forgets everything, and an empty store with the log is rebuilt from it; a store
// restarted from a snapshot taken before a revocation does not bring the revoked AK back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { killServers, serveCli } from "../../cli.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth } from "../../../runtime/kit/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/services.js";
import { activateCredential, createAk, measureNode, quote, startSoftwareTpm, type EkCa, type SoftwareTpm } from "./swtpm.js";

const ORIGIN = "meridian.test/attest-persist";
const logKeys = generateKey(ORIGIN);
const verifierKeys = generateKey("meridian-attest-persist");
const ADMIN = "postgres://postgres@127.0.0.1:5432/postgres";
const DB = `meridian_attest_persist_${process.pid}`;
const pgUrl = (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`;

let tpm: SoftwareTpm & { ekCa?: EkCa };
let tmp: string;
let reference: unknown;
let endorsement: { roots: string; intermediates: string };
type Kind = "file" | "postgres";
const KINDS: Kind[] = ["file", "postgres"];
/** A proof log per store kind: the two kinds run side by side, and a store rebuilt from its log must see only its own verifier's events. */
const logServers = new Map<Kind, Awaited<ReturnType<typeof startLogServer>>>();
let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
const databases: string[] = [];

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
async function createDb(name: string, template?: string): Promise<string> {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
  });
  databases.push(name);
  return pgUrl(name);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "meridian-attest-persist-"));
  tpm = await startSoftwareTpm({ ekCert: true });
  tpm.tool("tpm2_nvread", ["0x1c00002", "-C", "o", "-o", "ek.der"]);
  endorsement = { roots: readFileSync(tpm.ekCa!.root, "utf8"), intermediates: readFileSync(tpm.ekCa!.issuer, "utf8") };
  // Both kinds enrol the same AKs, each in its own store and log (RSA key generation is most of swtpm's time).
  for (const ak of ["ak", "ak2", "ak3"]) createAk(tpm, ak, "rsa");
  reference = JSON.parse(readFileSync(measureNode(tpm), "utf8"));
  for (const kind of KINDS) logServers.set(kind, await startLogServer({ origin: ORIGIN, signerKey: logKeys.signerKey, dataDir: join(tmp, `log-${kind}`), port: 0, checkpointIntervalMs: 20 }));
  auth = await localOperatorAuth(systemClock);
}, 120_000);

afterAll(async () => {
  killServers();
  for (const s of logServers.values()) await s.app.close();
  tpm?.stop();
  await admin(async (c) => {
    for (const d of databases) await c.query(`DROP DATABASE IF EXISTS ${d} WITH (FORCE)`);
  }).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

type Store = { dir: string } | { postgres: string };

/** Start a real `meridian attest serve` on `store` (with `kind`'s proof log unless `log: false`). */
async function serve(kind: Kind, store: Store, name: string, o: { log?: boolean } = {}): Promise<{ child: ChildProcess; url: string }> {
  const config = {
    key: verifierKeys.signerKey,
    ...(o.log === false ? {} : { log: logServers.get(kind)!.url }),
    store,
    timestampMaxAgeSeconds: 300,
    endorsement,
    nodes: { "node-a": { enrol: true, reference }, "node-b": { enrol: true, reference } },
    server: { port: 0, auth: auth.auth },
  };
  const file = join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  return serveCli(["attest", "serve", "--config", file]);
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

type Answer = { status: number; body: Record<string, unknown> };
async function call(url: string, path: string, body?: object, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${url}${path}`, body ? { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) } : {});
  const text = await res.text();
  return { status: res.status, body: res.headers.get("content-type")?.startsWith("application/json") ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}
const b64 = (path: string) => readFileSync(path).toString("base64");
const nonce = async (url: string) => (await call(url, "/v1/attest/nonce", {})).body.nonce as string;

/** A quote by `ak` over `n` (or, without `n`, a timestamp-mode quote), posted as `node`. */
function evidence(ak: string, name: string, n?: string): { message: string; signature: string; pcrs: string } {
  const q = n
    ? quote(tpm, `${ak}.ctx`, n, name)
    : (tpm.tool("tpm2_quote", ["-c", `${ak}.ctx`, "-l", "sha256:0,1,2,16", "-m", `${name}.msg`, "-s", `${name}.sig`, "-o", `${name}.pcrs`, "-g", "sha256"]),
      { message: join(tpm.dir, `${name}.msg`), signature: join(tpm.dir, `${name}.sig`), pcrs: join(tpm.dir, `${name}.pcrs`) });
  return { message: b64(q.message), signature: b64(q.signature), pcrs: b64(q.pcrs) };
}
const verify = (url: string, node: string, e: object, n?: string) => call(url, "/v1/attest/verify", { node, ...(n ? { nonce: n } : {}), ...e });
async function attest(url: string, node: string, ak: string, name: string): Promise<Answer> {
  const n = await nonce(url);
  return verify(url, node, evidence(ak, name, n), n);
}

/** Enrolment step 1: the credential for `ak`, presented with the TPM's EK certificate. */
async function challenge(url: string, node: string, ak: string): Promise<Answer> {
  return call(url, "/v1/attest/enrol", { node, ekCert: b64(join(tpm.dir, "ek.der")), akPublic: b64(join(tpm.dir, `${ak}.pub`)) });
}
/** Enrolment step 2: tpm2_activatecredential, and the secret back to the verifier. */
async function activate(url: string, node: string, ak: string, credential: string, name: string): Promise<Answer> {
  const act = activateCredential(tpm, Buffer.from(credential, "base64"), name, { ak: `${ak}.ctx` });
  expect(act.status, act.stderr).toBe(0);
  return call(url, "/v1/attest/enrol/activate", { node, secret: act.secret!.toString("base64") });
}

// The two kinds run concurrently (each its own store, log and file names; the TPM's tools run one at a time), the
// tests of one kind in order: the second starts from the store the first left.
describe.each(KINDS)("attest serve with its registry in a %s store", { concurrent: true }, (kind) => {
  const ak = "ak";
  const ak2 = "ak2";
  const ak3 = "ak3";
  let store: Store;
  const fresh = async (name: string): Promise<Store> => (kind === "file" ? { dir: join(tmp, `${kind}-${name}`) } : { postgres: await createDb(`${DB}_${name}`) });
  /** A copy of the store as it is now (the verifier is stopped): what a restore from backup brings back. */
  const snapshot = async (s: Store, name: string): Promise<Store> => {
    if ("dir" in s) {
      cpSync(s.dir, join(tmp, `${kind}-${name}`), { recursive: true });
      return { dir: join(tmp, `${kind}-${name}`) };
    }
    return { postgres: await createDb(`${DB}_${name}`, new URL(s.postgres).pathname.slice(1)) };
  };

  it("keeps enrolled nodes admitted across kill -9 mid-enrolment; the cut-off enrolment, used and pre-restart nonces stay refused", { concurrent: false, timeout: 180_000 }, async () => {
    store = await fresh("main");
    let v = await serve(kind, store, `${kind}-1`);
    const ch = await challenge(v.url, "node-a", ak);
    expect(ch.status, JSON.stringify(ch.body)).toBe(200);
    expect(await activate(v.url, "node-a", ak, ch.body.credential as string, `${kind}-a`)).toMatchObject({ status: 200, body: { node: "node-a" } });
    const n1 = await nonce(v.url);
    const q1 = evidence(ak, `${kind}-q1`, n1);
    expect((await verify(v.url, "node-a", q1, n1)).status).toBe(200);
    const ts = evidence(ak, `${kind}-ts1`); // timestamp mode: the nonce-fresh quote registered the AK's clock
    expect((await verify(v.url, "node-a", ts)).status).toBe(200);
    const n2 = await nonce(v.url); // issued, never used
    const q2 = evidence(ak, `${kind}-q2`, n2);
    const chB = await challenge(v.url, "node-b", ak2); // node-b is mid-enrolment when the verifier dies
    expect(chB.status).toBe(200);
    await kill9(v.child);

    v = await serve(kind, store, `${kind}-2`);
    const again = await attest(v.url, "node-a", ak, `${kind}-after`);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect((await call(v.url, "/v1/attest/results/node-a")).status).toBe(200);
    // The clock registration survived: a newer timestamped quote is accepted, the one made before the restart is a replay.
    expect((await verify(v.url, "node-a", evidence(ak, `${kind}-ts2`))).status).toBe(200);
    expect((await verify(v.url, "node-a", ts)).body).toMatchObject({ error: "attestation refused", detail: expect.stringMatching(/freshness: timestamp: clock \d+ is not past/) });
    // Nonces are not restored: a used one and one issued before the restart are both unknown now.
    expect((await verify(v.url, "node-a", q1, n1)).body).toMatchObject({ error: "attestation refused", detail: expect.stringMatching(/freshness: nonce .* was not issued by this verifier/) });
    expect((await verify(v.url, "node-a", q2, n2)).body).toMatchObject({ error: "attestation refused", detail: expect.stringMatching(/freshness: nonce .* was not issued by this verifier/) });
    // node-b's challenge died with the process: its activation is refused and the node stays unenrolled.
    expect((await activate(v.url, "node-b", ak2, chB.body.credential as string, `${kind}-b`)).body).toMatchObject({
      error: "enrolment refused",
      detail: expect.stringMatching(/no outstanding enrolment challenge/),
    });
    expect(await attest(v.url, "node-b", ak2, `${kind}-b-quote`)).toMatchObject({ status: 409, body: { error: "node not enrolled" } });
    // Another AK quoting as node-a is still another key's.
    expect((await attest(v.url, "node-a", ak2, `${kind}-other`)).body).toMatchObject({ error: "attestation refused", detail: expect.stringMatching(/^signature: /) });
    await kill9(v.child);

    if (kind === "postgres") return; // what follows does not depend on the store
    // An empty store without the log remembers nothing; with the log it is rebuilt from the log.
    v = await serve(kind, await fresh("empty"), `${kind}-empty`, { log: false });
    expect(await attest(v.url, "node-a", ak, `${kind}-empty`)).toMatchObject({ status: 409, body: { error: "node not enrolled" } });
    await kill9(v.child);
    v = await serve(kind, await fresh("rebuilt"), `${kind}-rebuilt`);
    expect((await attest(v.url, "node-a", ak, `${kind}-rebuilt`)).status).toBe(200);
    expect(await attest(v.url, "node-b", ak2, `${kind}-rebuilt-b`)).toMatchObject({ status: 409 });
    await kill9(v.child);
  });

  it("revokes only for an operator; a store restarted from a snapshot taken before the revocation does not bring the AK back", { concurrent: false, timeout: 180_000 }, async () => {
    const stale = await snapshot(store, "stale"); // node-a enrolled with ak
    let v = await serve(kind, store, `${kind}-3`);
    expect((await call(v.url, "/v1/attest/revoke", { node: "node-a", reason: "key compromised" })).status).toBe(401);
    const notOperator = { authorization: `Bearer ${await auth.token({ scope: "meridian.attest.read", subject: "mallory" })}` };
    expect((await call(v.url, "/v1/attest/revoke", { node: "node-a", reason: "key compromised" }, notOperator)).status).toBe(403);
    const operator = { authorization: `Bearer ${await auth.token({ subject: "alice" })}` };
    expect(await call(v.url, "/v1/attest/revoke", { node: "node-a", reason: "key compromised" }, operator)).toMatchObject({ status: 200, body: { node: "node-a", by: "jwt:alice" } });
    expect(await attest(v.url, "node-a", ak, `${kind}-revoked`)).toMatchObject({ status: 409, body: { error: "node not enrolled" } });
    expect((await call(v.url, "/v1/attest/results/node-a")).status).toBe(404);
    await kill9(v.child);

    for (const [s, name] of [
      [store, "restored"],
      [stale, "stale"],
    ] as const) {
      v = await serve(kind, s, `${kind}-${name}`);
      expect(await attest(v.url, "node-a", ak, `${kind}-${name}`)).toMatchObject({ status: 409, body: { error: "node not enrolled" } });
      // The revoked AK cannot enrol again, even with a genuine credential activation.
      const ch = await challenge(v.url, "node-a", ak);
      expect((await activate(v.url, "node-a", ak, ch.body.credential as string, `${kind}-${name}-re`)).body).toMatchObject({
        error: "enrolment refused",
        detail: expect.stringMatching(/was revoked by jwt:alice .*key compromised.*enrol a new AK/),
      });
      if (s === store) await kill9(v.child);
    }
    // On the caught-up stale store, a new AK enrols, and is admitted.
    const ch = await challenge(v.url, "node-a", ak3);
    expect((await activate(v.url, "node-a", ak3, ch.body.credential as string, `${kind}-new`)).status).toBe(200);
    expect((await attest(v.url, "node-a", ak3, `${kind}-new-quote`)).status).toBe(200);
    await kill9(v.child);
  });
});
