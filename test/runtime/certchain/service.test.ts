/**
 * `meridian cert serve` in process: certificates that certify proof-log checkpoints are appended, served whole,
 * by height and by range, and a light client fast-syncs from the server and then checks a log entry's inclusion
 * against the certified checkpoint. A fork is refused with 409 and its evidence kept; submitted evidence is checked
 * against the committee at its height; a restart with `data` replays and re-verifies the chain. Hostile input
 * (the kit's suite) changes nothing.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  certHash,
  checkpointDigest,
  certService,
  GENESIS_PARENT,
  issue,
  LightClient,
  memberKey,
  syncFrom,
  verifyCertifiedInclusion,
  type Certificate,
  type Committee,
  type MemberKey,
} from "../../../runtime/certchain/index.js";
import { startService } from "../../../runtime/kit/index.js";
import { formatCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";
import { MerkleTree } from "../../../runtime/prooflog/tree.js";
import { hostileHttpSuite } from "../../hostile.js";

const keys = (tag: string, n: number): MemberKey[] => Array.from({ length: n }, (_, i) => memberKey(createHash("sha256").update(`${tag}${i}`).digest()));
const by = (ks: MemberKey[], idx: number[]) => idx.map((index) => ({ index, key: ks[index]! }));
const oldKeys = keys("svc-old", 4);
const OLD: Committee = { members: oldKeys.map((k) => k.publicKey), quorum: 3 };
const newKeys = keys("svc-new", 4);
const NEW: Committee = { members: newKeys.map((k) => k.publicKey), quorum: 3 };

const ORIGIN = "meridian.test/certified";
const log = new MerkleTree();
const entry = (i: number) => new TextEncoder().encode(`entry ${i}`);
/** Grow the log to `size` and return its checkpoint body. */
function checkpointAt(size: number): string {
  while (log.size < size) log.appendEntry(entry(log.size));
  return formatCheckpoint({ origin: ORIGIN, size, root: log.rootAt(size), extensions: [] });
}

// c0 (genesis, size 2) → c1 (size 5, hands over to NEW) → c2 (size 9, signed by NEW) → c3 (size 12)
const chain: Certificate[] = [];
{
  const cp0 = checkpointAt(2);
  chain.push(issue({ height: 0, parent: GENESIS_PARENT, root: checkpointDigest(cp0), checkpoint: cp0 }, OLD, by(oldKeys, [0, 1, 2])));
  const cp1 = checkpointAt(5);
  chain.push(issue({ height: 1, parent: certHash(chain[0]!), root: checkpointDigest(cp1), checkpoint: cp1, next: NEW }, OLD, by(oldKeys, [1, 2, 3])));
  const cp2 = checkpointAt(9);
  chain.push(issue({ height: 2, parent: certHash(chain[1]!), root: checkpointDigest(cp2), checkpoint: cp2 }, NEW, by(newKeys, [0, 1, 3])));
  const cp3 = checkpointAt(12);
  chain.push(issue({ height: 3, parent: certHash(chain[2]!), root: checkpointDigest(cp3), checkpoint: cp3 }, NEW, by(newKeys, [0, 2, 3])));
}

const dir = mkdtempSync(join(tmpdir(), "cert-serve-"));
writeFileSync(join(dir, "committee.json"), JSON.stringify(OLD));
writeFileSync(join(dir, "start.json"), JSON.stringify(chain[0]));
const config = (data?: string) => ({
  committee: join(dir, "committee.json"),
  start: join(dir, "start.json"),
  ...(data ? { data } : {}),
  server: { port: 0, timeouts: { headersMs: 500, requestMs: 1000 } },
});
const start = (data?: string) => startService(certService, config(data), { processMetrics: false });

type Running = Awaited<ReturnType<typeof start>>;
let svc: Running;
const post = (path: string, body: unknown) => fetch(`${svc.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const getJson = async (path: string) => {
  const r = await fetch(`${svc.url}${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  svc = await start(join(dir, "data"));
});
afterAll(async () => {
  await svc?.close();
});

describe("meridian cert serve", () => {
  it("appends certificates of log checkpoints, serves them, and a light client syncs then proves inclusion against the certified checkpoint", async () => {
    for (const c of chain.slice(1)) expect((await post("/v1/certs", c)).status).toBe(201);
    expect((await post("/v1/certs", chain[2])).status).toBe(200); // already held
    const latest = await getJson("/v1/certs/latest");
    expect(latest.body).toMatchObject({ height: 3, hash: certHash(chain[3]!) });
    expect((await getJson("/v1/certs/1")).body).toMatchObject({ height: 1, certificate: chain[1] });
    expect((await getJson("/v1/certs?from=1&limit=2")).body).toMatchObject({ first: 0, latest: 3, certificates: [chain[1], chain[2]] });
    expect((await getJson("/v1/certs/9")).status).toBe(404);

    const lc = new LightClient(chain[0]!, OLD);
    expect(await syncFrom(svc.url, lc, 2)).toBe(3);
    expect(lc.head).toMatchObject({ height: 3, committee: NEW });
    const cp = verifyCertifiedInclusion(lc.head.certificate, 7, leafHash(entry(7)), log.inclusionProof(7, 12), ORIGIN);
    expect(cp.size).toBe(12);
    // The certified checkpoint is what decides: a proof for another entry, another size or another log is refused.
    expect(() => verifyCertifiedInclusion(lc.head.certificate, 7, leafHash(entry(8)), log.inclusionProof(7, 12))).toThrow(/root mismatch/);
    expect(() => verifyCertifiedInclusion(lc.head.certificate, 7, leafHash(entry(7)), log.inclusionProof(7, 13))).toThrow();
    expect(() => verifyCertifiedInclusion(lc.head.certificate, 7, leafHash(entry(7)), log.inclusionProof(7, 12), "other.example/log")).toThrow(/certifies log "meridian.test\/certified"/);
  });

  it("refuses a certificate whose checkpoint its root does not certify, a missing quorum and a gap, naming each", async () => {
    const cp = checkpointAt(14);
    const good = issue({ height: 4, parent: certHash(chain[3]!), root: checkpointDigest(cp), checkpoint: cp }, NEW, by(newKeys, [0, 1, 2]));
    const swapped = { ...good, checkpoint: chain[3]!.checkpoint };
    const r1 = await post("/v1/certs", swapped);
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { detail: string }).detail).toMatch(/its checkpoint is not the one its root certifies/);
    const short = issue({ height: 4, parent: certHash(chain[3]!), root: checkpointDigest(cp), checkpoint: cp }, NEW, by(newKeys, [0, 1]));
    expect(((await (await post("/v1/certs", short)).json()) as { detail: string }).detail).toMatch(/2 signatures, the quorum is 3/);
    const gap = issue({ height: 6, parent: certHash(chain[3]!), root: checkpointDigest(cp), checkpoint: cp }, NEW, by(newKeys, [0, 1, 2]));
    expect(((await (await post("/v1/certs", gap)).json()) as { detail: string }).detail).toMatch(/does not follow the head at 3/);
    expect((await getJson("/v1/certs/latest")).body).toMatchObject({ height: 3 });
  });

  it("a fork gets 409 and its evidence is kept; submitted evidence is checked against the committee at its height", async () => {
    const cp = checkpointAt(10);
    const fork = issue({ height: 2, parent: certHash(chain[1]!), root: checkpointDigest(cp), checkpoint: cp }, NEW, by(newKeys, [1, 2, 3]));
    const r = await post("/v1/certs", fork);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { detail: string }).detail).toMatch(/fork at height 2.*members 1, 3 signed both/);
    const held = (await getJson("/v1/evidence")).body.evidence as { member: number; a: Certificate }[];
    expect(held.map((e) => [e.a.height, e.member])).toEqual([
      [2, 1],
      [2, 3],
    ]);

    // Two conflicting certificates at height 1 (signed by the OLD committee, in force there).
    const other = issue({ height: 1, parent: certHash(chain[0]!), root: "ab".repeat(32) }, OLD, by(oldKeys, [0, 2]));
    const ok = await post("/v1/evidence", { a: chain[1], b: other });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { evidence: { member: number }[] }).evidence.map((e) => e.member)).toEqual([2]);
    // The same pair signed by a committee not in force at that height proves nothing.
    const foreign = issue({ height: 1, parent: certHash(chain[0]!), root: "ab".repeat(32) }, NEW, by(newKeys, [1, 2]));
    const bad = await post("/v1/evidence", { a: chain[1], b: foreign });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/no member of the committee at height 1/);
    const far = await post("/v1/evidence", { a: { ...other, height: 40 }, b: { ...other, height: 40 } });
    expect(((await far.json()) as { detail: string }).detail).toMatch(/height 40 is not held here/);
    expect(((await getJson("/v1/evidence")).body.evidence as unknown[]).length).toBe(3);
  });

  it("a restart with the same data replays and re-verifies the chain and the evidence", async () => {
    const again = await start(join(dir, "data"));
    try {
      const latest = (await (await fetch(`${again.url}/v1/certs/latest`)).json()) as { height: number; hash: string };
      expect(latest).toMatchObject({ height: 3, hash: certHash(chain[3]!) });
      expect(((await (await fetch(`${again.url}/v1/evidence`)).json()) as { evidence: unknown[] }).evidence.length).toBe(3);
    } finally {
      await again.close();
    }
  });

  it("answers malformed queries with 400 naming the parameter and a pruned range with 410", async () => {
    const q = await getJson("/v1/certs?limit=5000");
    expect(q.status).toBe(400);
    expect(JSON.stringify(q.body)).toMatch(/limit/);
    expect((await getJson("/v1/certs/abc")).status).toBe(400);
    const bad = await post("/v1/certs", { height: "one" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/height/);
    // A server started from certificate 1 has pruned what came before.
    writeFileSync(join(dir, "start1.json"), JSON.stringify(chain[1]));
    const pruned = await startService(certService, { ...config(), start: join(dir, "start1.json") }, { processMetrics: false });
    try {
      expect((await fetch(`${pruned.url}/v1/certs?from=0`)).status).toBe(410);
    } finally {
      await pruned.close();
    }
  });

  it("retain: holds only the last certificates, compacts --data to a base, and a restart starts there with the committee after the hand-over", async () => {
    const data = join(dir, "retained");
    const opts = { ...config(data), retain: 1 };
    const first = await startService(certService, opts, { processMetrics: false });
    const at = async (url: string, path: string) => {
      const r = await fetch(`${url}${path}`);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const postTo = (url: string, path: string, body: unknown) => fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    // Equivocation at height 1 (OLD's member 2 signs a second certificate), kept before height 1 is pruned.
    const other = issue({ height: 1, parent: certHash(chain[0]!), root: "cd".repeat(32) }, OLD, by(oldKeys, [0, 2]));
    try {
      expect((await postTo(first.url, "/v1/certs", chain[1])).status).toBe(201);
      expect((await postTo(first.url, "/v1/evidence", { a: chain[1], b: other })).status).toBe(200);
      for (const c of chain.slice(2)) expect((await postTo(first.url, "/v1/certs", c)).status).toBe(201);
      expect((await at(first.url, "/v1/certs?from=3")).body).toMatchObject({ first: 3, latest: 3, certificates: [chain[3]] });
      expect((await at(first.url, "/v1/certs?from=2")).status).toBe(410);
      expect((await at(first.url, "/v1/certs/1")).status).toBe(404);
    } finally {
      await first.close();
    }
    // The files hold the new base (certificate 3 and NEW, which signed it) and nothing before it.
    expect(JSON.parse(readFileSync(join(data, "base.json"), "utf8"))).toEqual({ certificate: chain[3], committee: NEW });
    expect(readFileSync(join(data, "chain.jsonl"), "utf8")).toBe("");
    const again = await startService(certService, opts, { processMetrics: false });
    try {
      expect((await at(again.url, "/v1/certs/latest")).body).toMatchObject({ height: 3, hash: certHash(chain[3]!) });
      expect((await at(again.url, "/v1/certs?from=0")).status).toBe(410);
      // The next certificate must be NEW's (in force after the hand-over): OLD's quorum is refused.
      const cp = checkpointAt(15);
      const byOld = issue({ height: 4, parent: certHash(chain[3]!), root: checkpointDigest(cp), checkpoint: cp }, OLD, by(oldKeys, [0, 1, 2]));
      expect((await postTo(again.url, "/v1/certs", byOld)).status).toBe(400);
      const next = issue({ height: 4, parent: certHash(chain[3]!), root: checkpointDigest(cp), checkpoint: cp }, NEW, by(newKeys, [0, 1, 2]));
      expect((await postTo(again.url, "/v1/certs", next)).status).toBe(201);
      // The evidence at the pruned height 1 survived, re-checked against the committee recorded with it.
      expect(((await at(again.url, "/v1/evidence")).body.evidence as { member: number; a: Certificate }[]).map((e) => [e.a.height, e.member])).toEqual([[1, 2]]);
      // A light client that trusts only the original start follows the hand-over and ends on the retained head.
      const lc = new LightClient(chain[0]!, OLD);
      for (const c of chain.slice(1)) lc.accept(c);
      lc.accept(next);
      expect(lc.head).toMatchObject({ height: 4, committee: NEW });
    } finally {
      await again.close();
    }
  });
});

hostileHttpSuite("meridian cert serve", () => ({
  url: svc.url,
  routes: [
    { method: "GET", path: "/v1/certs/latest" },
    { method: "GET", path: "/v1/certs?from=0&limit=2" },
    { method: "POST", path: "/v1/certs", json: true },
    { method: "POST", path: "/v1/evidence", json: true },
  ],
  state: async () => ({ latest: await (await fetch(`${svc.url}/v1/certs/latest`)).json(), evidence: await (await fetch(`${svc.url}/v1/evidence`)).json() }),
  slowlorisWaitMs: 4000,
}));
