// Rotating the deployed certificate chain to a new witness group (#20) by the stack setting
// meridian:runtime.prooflog.witnessThreshold.next: it is checked at stack load (the group in force again, a key off the
// curve, more partials than witnesses: each named), rendered into every witness's config (`threshold.next`) and the
// ledger region's issuer's (`issue.next`), and not into the followers'. Then, in process, from those rendered objects:
// the witnesses' signers (runtime/certchain/signer.ts, behind a stand-in for their /certify route and the log's
// /checkpoint) and the issuer (issuer.ts) hand the chain over to the named group; once the operator promotes it (the
// stack's group is the new one, no next), the new group's shares sign on; a follower pinned to the first group follows
// the rotation and refuses a certificate of a group nobody named, a hand-over the witnesses were not told of, and the
// old group's signature after the hand-over.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { CONFIG_DIR, regionWorkloads } from "../../../model/workloads/spec.js";
import type { EstateSpec } from "../../../model/estate.js";
import { CertChain } from "../../../runtime/certchain/chain.js";
import { Issuer } from "../../../runtime/certchain/issuer.js";
import {
  CertifyRefusal,
  CertSigner,
  certBody,
  certHash,
  checkpointDigest,
  CommitteeJson,
  groupCommittee,
  issueThreshold,
  MemorySignedStore,
  unsignedCertificate,
  type Certificate,
  type CertifyRequest,
} from "../../../runtime/certchain/index.js";
import { formatCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import { ALG_COSIGNATURE_V1, generateKey, newSigner, newVerifier, signNote } from "../../../runtime/prooflog/note.js";
import { combineCheckpoint, thresholdMessage } from "../../../runtime/prooflog/witness/threshold.js";
import { groupJson, partialSign, type Share } from "../../../runtime/tbls/index.js";
import { readStackConfigMap } from "../../../stacks/load.js";
import { dkg, prodWith } from "./threshold-fixture.js";

const NAME = "meridian.example.com/witnesses";
const LEDGER = "aws-use1";
const REGIONS = ["aws-euw1", "gcp-asne1", "azure-weu"];
const origin = (readStackConfigMap("prod")["meridian:runtime"] as { prooflog: { origin: string } }).prooflog.origin;
const logKey = generateKey(origin);
const keys = REGIONS.map((_, i) => generateKey(`witness-${"abc"[i]}`, ALG_COSIGNATURE_V1));
const witnesses = REGIONS.map((region, i) => ({ name: `witness-${"abc"[i]}`, region, vkey: keys[i]!.verifierKey }));
const newGroup = () => {
  const results = dkg(2, 3);
  return { results, json: groupJson({ t: 2, n: 3, commitments: results[0]!.commitments, shares: [] }) };
};
const A = newGroup();
const B = newGroup();
const C = newGroup();
const stack = (threshold: Record<string, unknown>) => prodWith({ verifierKey: logKey.verifierKey, witnesses, witnessThreshold: { name: NAME, ...threshold } });

type GroupFile = { t: number; n: number; groupPublicKey: string; commitments: string[] };
const thresholdGroup = (g: GroupFile, name: string) => ({ name, t: g.t, n: g.n, groupPublicKey: Buffer.from(g.groupPublicKey, "hex"), commitments: g.commitments.map((c) => Buffer.from(c, "hex")) });
const workload = (spec: EstateSpec, region: string, service: string) => regionWorkloads(spec, region).find((w) => w.service.name === service)!;
const file = <T>(spec: EstateSpec, region: string, service: string, name: string) => JSON.parse(workload(spec, region, service).config[name]!) as T;

let server: Server | undefined;
afterAll(() => server?.close());

describe("rotating the deployed certificate chain by the stack's witnessThreshold.next", () => {
  it("stack load refuses a next group equal to the one in force, a key off the curve, and more partials than witnesses, naming each", () => {
    expect(() => stack({ group: A.json, next: A.json })).toThrow(/witnessThreshold\.next\.groupPublicKey[\s\S]*the next group is the group in force/);
    const offCurve = { ...B.json, commitments: [B.json.commitments[0]!, "ab".repeat(96)] };
    expect(() => stack({ group: A.json, next: offCurve })).toThrow(/witnessThreshold\.next\.commitments\[1\][\s\S]*a BLS12-381 G2 point/);
    expect(() => stack({ group: A.json, next: { ...B.json, groupPublicKey: "AB" } })).toThrow(/witnessThreshold\.next\.groupPublicKey[\s\S]*192 lower-case hex digits/);
    const big = dkg(4, 5);
    expect(() => stack({ group: A.json, next: groupJson({ t: 4, n: 5, commitments: big[0]!.commitments, shares: [] }) })).toThrow(/witnessThreshold\.next\.t[\s\S]*needs 4 partial signatures; only 3/);
  });

  it("renders next into every witness and the issuer, not the followers; without it nothing of it is rendered", () => {
    const spec = stack({ group: A.json, next: B.json });
    for (const region of REGIONS) {
      expect(file<{ threshold: { next: string } }>(spec, region, "witness", "witness.json").threshold.next).toBe(`${CONFIG_DIR}/witness/next-group.json`);
      expect(file(spec, region, "witness", "next-group.json")).toEqual(B.json);
      expect(file(spec, region, "witness", "group.json")).toEqual(A.json);
    }
    expect(file<{ issue: { next: string } }>(spec, LEDGER, "certchain", "certchain.json").issue.next).toBe(`${CONFIG_DIR}/certchain/next-group.json`);
    expect(file(spec, LEDGER, "certchain", "next-group.json")).toEqual(B.json);
    const follower = workload(spec, "gcp-asne1", "certchain");
    expect(Object.keys(follower.config).sort()).toEqual(["certchain.json", "group.json"]);
    const plain = stack({ group: A.json });
    expect(Object.keys(workload(plain, REGIONS[0]!, "witness").config).sort()).toEqual(["group.json", "witness.json"]);
    expect(file<{ threshold: object }>(plain, REGIONS[0]!, "witness", "witness.json").threshold).not.toHaveProperty("next");
    expect(file<{ issue: object }>(plain, LEDGER, "certchain", "certchain.json").issue).not.toHaveProperty("next");
  });

  it("the rendered witnesses and issuer hand over to the named group; a follower follows it and refuses an unnamed group", async () => {
    // The log's checkpoints and the witnesses' /certify, served from the rendered configs' objects.
    let note = "";
    let signers: CertSigner[] = [];
    server = createServer((req, res) => {
      const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(typeof body === "string" ? body : JSON.stringify(body));
      if (req.url === "/checkpoint") return void reply(200, note);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const k = Number(/^\/w(\d)\/certify$/.exec(req.url ?? "")?.[1]);
        signers[k]!.certify(JSON.parse(Buffer.concat(chunks).toString()) as CertifyRequest).then(
          (p) => reply(200, p),
          (e: unknown) => (e instanceof CertifyRefusal ? reply(e.status, { error: e.message, ...e.signed }) : reply(500, { error: String(e) })),
        );
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    /** The log publishes size `size` signed by its key and `group`'s threshold signature (two shares). */
    const publish = (size: number, group: ReturnType<typeof newGroup>) => {
      const body = formatCheckpoint({ origin, size, root: new Uint8Array(32).fill(size), extensions: [] });
      const g = thresholdGroup(group.json, NAME);
      const { line } = combineCheckpoint(
        g,
        body,
        [0, 1].map((k) => partialSign(thresholdMessage(body), group.results[k]!.share)),
      );
      note = `${signNote(body, [newSigner(logKey.signerKey)])}${line}`;
    };
    // Each witness as `meridian log witness` reads its rendered files: the group, its share, and the group it may hand over to.
    const stores = REGIONS.map(() => new MemorySignedStore());
    const witnessesOf = (spec: EstateSpec, shares: Share[]) =>
      REGIONS.map((region, i) => {
        const cfg = file<{ logs: string[]; threshold: { name: string; next?: string } }>(spec, region, "witness", "witness.json");
        const next = cfg.threshold.next && groupCommittee(file<GroupFile>(spec, region, "witness", "next-group.json"));
        const logs = new Map([[origin, cfg.logs.map((k) => newVerifier(k))]]);
        return new CertSigner({ group: thresholdGroup(file(spec, region, "witness", "group.json"), cfg.threshold.name), share: shares[i]!, logs, store: stores[i]!, ...(next && { next }) });
      });
    // The issuer as `meridian cert serve` reads the ledger region's rendered files.
    const issuerOf = (spec: EstateSpec) => {
      const cfg = file<{ issue: { logKey: string; name: string; next?: string; witnesses: string[] } }>(spec, LEDGER, "certchain", "certchain.json");
      expect(cfg.issue.witnesses).toHaveLength(3);
      const next = cfg.issue.next && CommitteeJson.parse(file(spec, LEDGER, "certchain", "next-group.json"));
      return new Issuer({
        log: base,
        logVerifiers: [newVerifier(cfg.issue.logKey)],
        group: thresholdGroup(file(spec, LEDGER, "certchain", "group.json"), cfg.issue.name),
        witnesses: REGIONS.map((_, i) => `${base}/w${i}`),
        ...(next && { next: next as ReturnType<typeof groupCommittee> }),
        timeoutMs: 10_000,
      });
    };
    let issued: CertChain | undefined;
    const chainOf = {
      head: () => issued && { cert: issued.latest, committee: issued.committeeAt(issued.latest.height)! },
      append: (c: Certificate) => void (issued ? issued.append(c) : (issued = new CertChain(c, groupCommittee(A.json)))),
    };

    // Before the rotation: the stack names only A; genesis at size 3.
    const before = stack({ group: A.json });
    signers = witnessesOf(
      before,
      A.results.map((r) => r.share),
    );
    publish(3, A);
    const c0 = (await issuerOf(before).round(chainOf))!;
    expect(c0.next).toBeUndefined();
    // The follower trusts the group its rendered group.json pins (A), from the first certificate.
    const followerGroup = CommitteeJson.parse(file(before, "gcp-asne1", "certchain", "group.json"));
    const follower = new CertChain(c0, followerGroup);

    // The operator sets next = B: the issuer's next certificate (same checkpoint) hands over, signed by A.
    const rotating = stack({ group: A.json, next: B.json });
    signers = witnessesOf(
      rotating,
      A.results.map((r) => r.share),
    );
    const c1 = (await issuerOf(rotating).round(chainOf))!;
    expect(c1).toMatchObject({ height: 1, next: groupCommittee(B.json) });
    expect(follower.append(c1)).toBe(true);
    // Its old-group issuer stops there: the chain's committee is B now.
    await expect(issuerOf(rotating).round(chainOf)).rejects.toThrow(/this issuer's group no longer signs/);

    // Promoted: the stack's group is B (the witnesses' Secrets hold B's shares), the log signs with B.
    const promoted = stack({ group: B.json });
    signers = witnessesOf(
      promoted,
      B.results.map((r) => r.share),
    );
    publish(5, B);
    const c2 = (await issuerOf(promoted).round(chainOf))!;
    expect(c2.height).toBe(2);
    expect(follower.append(c2)).toBe(true);
    expect(follower.committeeAt(2)).toEqual(groupCommittee(B.json));

    // A group nobody named (C) signing the next height: refused, not kept.
    const unnamed = groupCommittee(C.json);
    const onC = unsignedCertificate({ height: 3, parent: certHash(c2), root: checkpointDigest(c2.checkpoint!), checkpoint: c2.checkpoint! }, unnamed);
    const byC = issueThreshold(
      onC,
      unnamed,
      C.results[0]!.commitments,
      [0, 1].map((k) => partialSign(certBody(onC), C.results[k]!.share)),
    );
    expect(() => follower.append(byC)).toThrow("certificate 3 is signed for another committee");
    // The old group (A) signing after its hand-over: refused too.
    const oldA = groupCommittee(A.json);
    const onA = unsignedCertificate({ height: 3, parent: certHash(c2), root: checkpointDigest(c2.checkpoint!), checkpoint: c2.checkpoint! }, oldA);
    const byA = issueThreshold(
      onA,
      oldA,
      A.results[0]!.commitments,
      [0, 1].map((k) => partialSign(certBody(onA), A.results[k]!.share)),
    );
    expect(() => follower.append(byA)).toThrow("certificate 3 is signed for another committee");
    expect(follower.latest.height).toBe(2);

    // A hand-over to C, which the stack never named: B's witnesses (next unset) refuse to sign it.
    const toC = {
      ...unsignedCertificate({ height: 3, parent: certHash(c2), root: checkpointDigest(c2.checkpoint!), checkpoint: c2.checkpoint!, next: unnamed }, groupCommittee(B.json)),
      signatures: [],
    };
    await expect(signers[0]!.certify({ certificate: toC, note, parent: c2 })).rejects.toThrow(/hands over to a group this member's operator did not name/);
  });
});
