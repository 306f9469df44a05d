// The estate's witnesses deployed (#20): prod names three witnesses the estate runs, one per region on other clouds
// than the log's, holding shares of one 2-of-3 BLS key pinned in the stack (meridian:runtime.prooflog.witnessThreshold).
// Here a stack like prod's, with this test's ceremony in place of prod's, is rendered; each witness region's
// `meridian log witness` runs from its rendered witness.json (its Secret's signer key and DKG share written where the pod
// mounts them), the log from its rendered prooflog.json and the monitor from monitor.json, with the in-cluster
// addresses swapped for the processes' (the mesh's DNS) and STATE_DIR/CONFIG_DIR remapped to a temp dir. Every
// checkpoint the log publishes carries one group signature that @noble/curves verifies under the stack's group key,
// and the monitor follows it under that key.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StackConfigError } from "../../../model/config/errors.js";
import { CONFIG_DIR, STATE_DIR, regionWorkloads, type WorkloadSpec } from "../../../model/workloads/spec.js";
import { LogClient } from "../../../runtime/prooflog/client.js";
import { runtimeService, spiffeId } from "../../../model/services.js";
import { ALG_COSIGNATURE_V1, generateKey, parseSignedNote } from "../../../runtime/prooflog/note.js";
import { thresholdMessage } from "../../../runtime/prooflog/witness/threshold.js";
import { groupJson, shareJson } from "../../../runtime/tbls/index.js";
import { ServerProcesses } from "../../rendered-workload.js";
import { dkg, prodWith, thresholdWitnessedProd } from "./threshold-fixture.js";

const NAME = "meridian.example.com/witnesses";
const root = mkdtempSync(join(tmpdir(), "witness-deployed-"));
const servers = new ServerProcesses();
afterAll(() => {
  servers.killAll();
  rmSync(root, { recursive: true, force: true });
});

/** The workload's own command line, its files under `dir`, listening on a free loopback port; `swap` maps in-cluster URLs. */
function runRendered(w: WorkloadSpec, dir: string, secrets: Record<string, string>, swap: (s: string) => string = (s) => s, extra: string[] = []) {
  // The node time agent is a cluster address: the log runs without a time reference here (not under test).
  const editConfig = (_file: string, text: string) => {
    const cfg = JSON.parse(text) as Record<string, unknown>;
    delete cfg["timeReference"];
    return JSON.stringify(cfg);
  };
  return servers.startRendered(w, { configRoot: `${dir}/etc`, stateRoot: `${dir}/state` }, { secrets, swap, extra, editConfig, dropFlags: ["--postgres"] });
}

/** What the pod's sidecar appends for an append from the map service (the rendered log takes /add from its submitters alone). */
const asMap = (td: string) => ({
  "x-forwarded-client-cert": `By=${spiffeId(td, runtimeService("prooflog"))};Hash=${"0".repeat(64)};URI=${spiffeId(td, runtimeService("map"))}`,
});

describe("the estate's deployed witnesses in threshold mode", () => {
  it("cosign the log's checkpoints with one group signature from rendered configs; noble verifies it under the stack's key", async () => {
    const { results, group, logKey, regions, keys, spec } = thresholdWitnessedProd(NAME);

    // A witness workload in exactly the three regions, with the pinned group beside its config and a claim for its state.
    const byRegion = spec.regions.map((r) => ({ region: r.id, w: regionWorkloads(spec, r.id).find((x) => x.service.name === "witness") }));
    expect(byRegion.filter((x) => x.w).map((x) => x.region)).toEqual(spec.regions.map((r) => r.id).filter((id) => regions.includes(id)));
    const witnessUrls = new Map<string, string>();
    for (const [i, region] of regions.entries()) {
      const w = byRegion.find((x) => x.region === region)!.w!;
      expect(w).toMatchObject({ replicas: 1, strategy: "Recreate", autoscaling: null, state: { size: "1Gi" } });
      expect(w.alerts.map((a) => a.alert)).toEqual(["MeridianWitnessSawEquivocation"]);
      expect(JSON.parse(w.config["group.json"]!)).toEqual(group);
      expect(JSON.parse(w.config["witness.json"]!)).toMatchObject({ logs: [logKey.verifierKey], data: `${STATE_DIR}/witness`, threshold: { name: NAME, group: `${CONFIG_DIR}/witness/group.json` } });
      const running = await runRendered(w, join(root, region), { "signer.key": keys[i]!.signerKey, "share.json": JSON.stringify(shareJson(results[i]!.share)) });
      witnessUrls.set(region, running.url);
    }

    // The log asks each region's own witness Service; the mesh's DNS is this map.
    const log = regionWorkloads(spec, "aws-use1").find((x) => x.service.name === "prooflog")!;
    const cfg = JSON.parse(log.config["prooflog.json"]!) as { witnesses: { name: string; url: string; vkey: string }[]; witnessThreshold: unknown };
    expect(cfg.witnesses.map((w) => w.url)).toEqual(regions.map((r) => `http://witness-${r}.meridian.svc.cluster.local:8080`));
    expect(cfg.witnessThreshold).toEqual({ name: NAME, group: `${CONFIG_DIR}/prooflog/group.json` });
    const swap = (s: string) => regions.reduce((t, r) => t.split(`http://witness-${r}.meridian.svc.cluster.local:8080`).join(witnessUrls.get(r)!), s);
    const logProc = await runRendered(log, join(root, "log"), { "signer.key": logKey.signerKey }, swap, ["--data", join(root, "log-data")]);

    const client = new LogClient(logProc.url, { addHeaders: asMap(spec.pki.trustDomain) });
    const checkpointAt = async (size: number) => {
      for (let tries = 0; tries < 600; tries++) {
        const note = await (await fetch(`${logProc.url}/checkpoint`)).text();
        if (note.split("\n")[1] === String(size)) return note;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no checkpoint at size ${size}`);
    };
    for (let i = 0; i < 3; i++) await client.add(Buffer.from(`deployed witnesses entry ${i}`));
    const note = await checkpointAt(3);
    const { text, lines } = parseSignedNote(note);
    const groupSigs = lines.filter((l) => l.name === NAME).map((l) => Buffer.from(l.base64, "base64").subarray(4));
    expect(groupSigs.map((s) => s.length)).toEqual([48]);
    const bls = bls12_381.shortSignatures;
    expect(bls.verify(groupSigs[0]!, bls.hash(thresholdMessage(text)), Buffer.from(group.groupPublicKey, "hex"))).toBe(true);
    expect(bls.verify(groupSigs[0]!, bls.hash(thresholdMessage(text)), Buffer.from(groupJson({ t: 2, n: 3, commitments: dkg(2, 3)[0]!.commitments, shares: [] }).groupPublicKey, "hex"))).toBe(false);

    // Each region's monitor as rendered checks the group signature and every witness; run from its files it reaches size 3.
    const m = regionWorkloads(spec, "gcp-asne1").find((x) => x.service.name === "monitor")!;
    const monitor = await runRendered(m, join(root, "monitor"), {}, (s) => swap(s.split("http://prooflog.meridian.svc.cluster.local:8080").join(logProc.url)));
    type Status = { size: number | null; entriesChecked: number; lastError: string | null; threshold?: string };
    const status = async () => (await (await fetch(`${monitor.url}/v1/status`)).json()) as Status;
    for (let tries = 0; tries < 600 && (await status()).size !== 3; tries++) await new Promise((r) => setTimeout(r, 100));
    expect(await status()).toMatchObject({ size: 3, entriesChecked: 3, threshold: `${NAME} (2 of 3)` });
  }, 180_000);

  it("a deployed witness outside the stack's regions, two in one region, or one without the log's key is refused", () => {
    const vkey = (n: string) => generateKey(n, ALG_COSIGNATURE_V1).verifierKey;
    const problems = (p: Record<string, unknown>) => {
      try {
        prodWith(p);
      } catch (e) {
        if (e instanceof StackConfigError) return e.problems.map((x) => `${x.keyPath}: ${x.expected}`);
        throw e;
      }
      return [];
    };
    expect(problems({ witnessThreshold: undefined, witnesses: [{ name: "w1", region: "mars-1", vkey: vkey("w1") }] })).toEqual([
      expect.stringMatching(/^meridian:runtime\.prooflog\.witnesses\[0\]\.region: one of the stack's regions \(aws-use1, /),
    ]);
    expect(
      problems({
        witnessThreshold: undefined,
        witnesses: [
          { name: "w1", region: "aws-euw1", vkey: vkey("w1") },
          { name: "w2", region: "aws-euw1", vkey: vkey("w2") },
        ],
      }),
    ).toEqual(["meridian:runtime.prooflog.witnesses[1].region: one deployed witness per region: aws-euw1 already has one"]);
    expect(problems({ verifierKey: undefined, witnessThreshold: undefined, witnesses: [{ name: "w1", region: "aws-euw1", vkey: vkey("w1") }] })).toEqual([
      expect.stringMatching(/^meridian:runtime\.prooflog\.verifierKey: a witness the estate deploys/),
    ]);
  });
});
