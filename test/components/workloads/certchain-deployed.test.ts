// The estate's certificate chain deployed (#20): with prod's threshold witnesses, every region runs `meridian cert
// serve` from its rendered certchain.json — the ledger region issues certificates of the log's checkpoints signed by
// the witnesses' group as ONE BLS signature, every other region follows it as a light client. Here the witnesses, the
// log and two regions' certchain run from their rendered files (in-cluster addresses swapped for the processes',
// CONFIG_DIR/STATE_DIR remapped, the 30 s round interval shortened), and the test tries to break it: a certificate
// noble verifies under the group key and not another; kill -9 of the issuer (its chain file cut back by one line, as
// a store restarting stale) re-issues exactly the certificate already issued at that height; with one witness of three
// left the issuer names the missing threshold and issues nothing; a fork signed by the group posted to a follower is
// refused and kept as equivocation evidence, a forged or uncertified-group certificate is refused and kept nowhere.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runtimeService, spiffeId } from "../../../model/services.js";
import { regionWorkloads, type WorkloadSpec } from "../../../model/workloads/spec.js";
import { certBody, certHash, checkpointDigest, groupCommittee, issueThreshold, unsignedCertificate, type Certificate } from "../../../runtime/certchain/index.js";
import { LogClient } from "../../../runtime/prooflog/client.js";
import { groupJson, partialSign, shareJson } from "../../../runtime/tbls/index.js";
import { ServerProcesses } from "../../rendered-workload.js";
import { dkg, thresholdWitnessedProd } from "./threshold-fixture.js";

const NAME = "meridian.example.com/witnesses";
const root = mkdtempSync(join(tmpdir(), "certchain-deployed-"));
const servers = new ServerProcesses();
afterAll(() => {
  servers.killAll();
  rmSync(root, { recursive: true, force: true });
});

/** The workload's own command line, its files under `dir`, on a free loopback port; `swap` maps in-cluster URLs, `patch` a config. */
function runRendered(
  w: WorkloadSpec,
  dir: string,
  secrets: Record<string, string>,
  swap: (s: string) => string = (s) => s,
  extra: string[] = [],
  patch: (cfg: Record<string, unknown>) => void = () => {},
) {
  const editConfig = (_file: string, text: string) => {
    const cfg = JSON.parse(text) as Record<string, unknown>;
    delete cfg["timeReference"]; // the node time agent is a cluster address (not under test)
    patch(cfg);
    return JSON.stringify(cfg);
  };
  return servers.startRendered(w, { configRoot: `${dir}/etc`, stateRoot: `${dir}/state` }, { secrets, swap, extra, editConfig, dropFlags: ["--postgres"] });
}

type Status = { mode: string; height: number | null; hash: string | null; checkpoint: { size: number } | null; evidence: number; lastError: string | null; rounds: number; committee: string | null };
const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let tries = 0; tries < 900; tries++) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && ok(v)) return (process.env["CERTCHAIN_TRACE"] && console.log(new Date().toISOString(), what), v);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}: ${JSON.stringify(await read().catch((e) => String(e)))}`);
}

describe("the estate's certificate chain, deployed", () => {
  it("issues group-signed certificates from rendered configs, a follower verifies them, and restarts, a missing threshold and forks cannot break it", async () => {
    const { results, group, logKey, regions, keys, spec } = thresholdWitnessedProd(NAME);

    // One certchain per region, one pod with a claim; the ledger region issues, the others follow its regional Service.
    const ledger = "aws-use1";
    const cc = (region: string) => regionWorkloads(spec, region).find((x) => x.service.name === "certchain")!;
    expect(spec.regions.every((r) => cc(r.id) !== undefined)).toBe(true);
    expect(cc(ledger)).toMatchObject({ replicas: 1, strategy: "Recreate", autoscaling: null, state: { size: "1Gi" } });
    expect(JSON.parse(cc(ledger).config["group.json"]!)).toEqual(group);
    const issueCfg = JSON.parse(cc(ledger).config["certchain.json"]!) as { issue: { witnesses: string[]; log: string } };
    expect(issueCfg.issue).toMatchObject({ log: "http://prooflog.meridian.svc.cluster.local:8080", witnesses: regions.map((r) => `http://witness-${r}.meridian.svc.cluster.local:8080`) });
    expect(JSON.parse(cc("gcp-asne1").config["certchain.json"]!)).toMatchObject({ follow: { url: `http://certchain-${ledger}.meridian.svc.cluster.local:8080` } });

    // The three witnesses start side by side (each its own process, files and port 0; afterAll kills whatever started).
    const started = await Promise.all(
      regions.map((region, i) => {
        const w = regionWorkloads(spec, region).find((x) => x.service.name === "witness")!;
        return runRendered(w, join(root, region), { "signer.key": keys[i]!.signerKey, "share.json": JSON.stringify(shareJson(results[i]!.share)) });
      }),
    );
    const witnessProcs = new Map(regions.map((region, i) => [region, started[i]!]));
    const swapWitnesses = (s: string) => regions.reduce((t, r) => t.split(`http://witness-${r}.meridian.svc.cluster.local:8080`).join(witnessProcs.get(r)!.url), s);
    const log = regionWorkloads(spec, ledger).find((x) => x.service.name === "prooflog")!;
    const logProc = await runRendered(log, join(root, "log"), { "signer.key": logKey.signerKey }, swapWitnesses, ["--data", join(root, "log-data")]);
    // Appending as the map service, as the pod's sidecar reports a mesh peer (XFCC): the rendered log takes /add only from its appenders.
    const td = spec.pki.trustDomain;
    const peer = (name: Parameters<typeof runtimeService>[0]) => spiffeId(td, runtimeService(name));
    const client = new LogClient(logProc.url, { addHeaders: { "x-forwarded-client-cert": `By=${peer("prooflog")};Hash=${"0".repeat(64)};URI=${peer("map")}` } });
    const logAt = (size: number) =>
      until(
        async () => (await fetch(`${logProc.url}/checkpoint`)).text(),
        (n) => n.split("\n")[1] === String(size),
        `log size ${size}`,
      );
    for (let i = 0; i < 3; i++) await client.add(Buffer.from(`certified entry ${i}`));
    await logAt(3);

    const fast = (cfg: Record<string, unknown>) => {
      for (const k of ["issue", "follow"]) if (cfg[k]) (cfg[k] as { intervalMs: number }).intervalMs = 200;
    };
    const issuerDir = join(root, "issuer");
    const swapIssuer = (s: string) => swapWitnesses(s.split("http://prooflog.meridian.svc.cluster.local:8080").join(logProc.url));
    let issuer = await runRendered(cc(ledger), issuerDir, {}, swapIssuer, [], fast);
    // A follower in another region, from its rendered config (the ledger region's Service is the issuer's address):
    // started while the issuer makes its genesis certificate (until then its rounds find none and try again).
    const following = runRendered(cc("gcp-asne1"), join(root, "follower"), {}, (s) => s.split(`http://certchain-${ledger}.meridian.svc.cluster.local:8080`).join(issuer.url), [], fast);
    const status = (url: string) => getJson<Status>(`${url}/v1/status`);
    await until(
      () => status(issuer.url),
      (s) => s.checkpoint?.size === 3,
      "the genesis certificate of size 3",
    );
    const c0 = (await getJson<{ certificate: Certificate }>(`${issuer.url}/v1/certs/0`)).certificate;
    const bls = bls12_381.shortSignatures;
    expect(c0.signatures).toEqual([]);
    expect(bls.verify(Buffer.from(c0.groupSignature!, "hex"), bls.hash(certBody(c0)), Buffer.from(group.groupPublicKey, "hex"))).toBe(true);
    const stranger = groupJson({ t: 2, n: 3, commitments: dkg(2, 3)[0]!.commitments, shares: [] }).groupPublicKey;
    expect(bls.verify(Buffer.from(c0.groupSignature!, "hex"), bls.hash(certBody(c0)), Buffer.from(stranger, "hex"))).toBe(false);

    const follower = await following;
    // One entry per certificate: with two, the issuer could certify the checkpoint between them (size 4, then 5).
    await client.add(Buffer.from("certified entry 3"));
    await logAt(4);
    const at1 = await until(
      () => status(issuer.url),
      (s) => s.checkpoint?.size === 4,
      "certificate 1 of size 4",
    );
    expect(at1.height).toBe(1);
    await until(
      () => status(follower.url),
      (s) => s.height === 1,
      "the follower at height 1",
    );
    expect(await status(follower.url)).toMatchObject({ mode: "follow", hash: at1.hash, evidence: 0, committee: expect.stringMatching(/^threshold group 2 of 3/) });

    // kill -9, the chain file cut back by its last line (a store restarting stale), the log moved on: the issuer asks
    // for height 1 again, the witnesses answer with the body they signed there, and it is re-issued identically.
    issuer.child.kill("SIGKILL");
    const chainFile = join(issuerDir, "state", "certchain", "chain.jsonl");
    const lines = readFileSync(chainFile, "utf8").split("\n").filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as Certificate).height)).toEqual([1]);
    writeFileSync(chainFile, "");
    await client.add(Buffer.from("certified entry 4"));
    await logAt(5);
    const samePort = ["--port", new URL(issuer.url).port]; // the follower's address for the ledger region's Service
    issuer = await runRendered(cc(ledger), issuerDir, {}, swapIssuer, samePort, fast);
    const again = await until(
      () => status(issuer.url),
      (s) => s.rounds >= 1 && s.height !== null && s.height >= 1,
      "the restarted issuer's first round",
    );
    expect((await getJson<{ hash: string }>(`${issuer.url}/v1/certs/1`)).hash).toBe(at1.hash);
    // ... and then continues at the next height, certifying size 5.
    const at2 = await until(
      () => status(issuer.url),
      (s) => s.checkpoint?.size === 5,
      "certificate 2 of size 5",
    );
    expect(again.height === 1 || again.height === 2).toBe(true);
    expect(at2.height).toBe(2);
    await until(
      () => status(follower.url),
      (s) => s.height === 2,
      "the follower at height 2",
    );
    expect((await status(follower.url)).evidence).toBe(0);

    // Below the threshold: the issuer down while the log moves on, then two witnesses of three killed.
    issuer.child.kill("SIGKILL");
    await client.add(Buffer.from("certified entry 5"));
    await logAt(6);
    witnessProcs.get("gcp-asne1")!.child.kill("SIGKILL");
    witnessProcs.get("azure-weu")!.child.kill("SIGKILL");
    issuer = await runRendered(cc(ledger), issuerDir, {}, swapIssuer, samePort, fast);
    const stuck = await until(
      () => status(issuer.url),
      (s) => s.lastError !== null,
      "a refused round",
    );
    expect(stuck.lastError).toMatch(/certificate 3: 1 valid partial signatures, the group needs 2 of 3/);
    expect(stuck.height).toBe(2);

    // A fork at height 2 signed by the group (two shares, as colluding witnesses could) posted to the follower: 409, evidence kept.
    const c1 = (await getJson<{ certificate: Certificate }>(`${follower.url}/v1/certs/1`)).certificate;
    const committee = groupCommittee({ t: 2, n: 3, groupPublicKey: group.groupPublicKey });
    const forkBody = unsignedCertificate({ height: 2, parent: certHash(c1), root: checkpointDigest(c1.checkpoint!), checkpoint: c1.checkpoint! }, committee);
    const fork = issueThreshold(
      forkBody,
      committee,
      results[0]!.commitments,
      [0, 1].map((k) => partialSign(certBody(forkBody), results[k]!.share)),
    );
    const post = (c: Certificate) => fetch(`${follower.url}/v1/certs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(c) });
    const forged = { ...fork, root: "ab".repeat(32), checkpoint: undefined };
    expect((await post({ ...fork, height: 3, parent: certHash(fork) })).status).toBe(400); // its signature is over another body
    expect((await post(forged)).status).toBe(409); // a second certificate at 2, but no valid signature: no evidence
    expect((await status(follower.url)).evidence).toBe(0);
    const res = await post(fork);
    expect(res.status).toBe(409);
    const ev = await getJson<{ evidence: { member: number; publicKey: string; a: Certificate; b: Certificate }[] }>(`${follower.url}/v1/evidence`);
    expect(ev.evidence).toHaveLength(1);
    expect(ev.evidence[0]).toMatchObject({ member: -1, publicKey: group.groupPublicKey });
    expect(await (await fetch(`${follower.url}/metrics`)).text()).toMatch(/^meridian_certchain_equivocations{[^}]*} 1$/m);
  }, 900_000);
});
