// The deployed proof log in threshold mode (#20): meridian:runtime.prooflog.witnessThreshold carries the witnesses'
// group.json (from `meridian tbls dkg`); the model renders it beside prooflog.json in the log's ConfigMap and names it
// in the config. Here the rendered files are written where the ConfigMap would be mounted and the workload's own
// `meridian log serve` command line runs against three witnesses holding shares of a 2-of-3 DKG key: every checkpoint
// it publishes carries one BLS signature that @noble/curves verifies under the group key in the stack config. A stack
// whose group needs more partial signatures than it has cosigning witnesses is refused when it loads, naming the key.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StackConfigError } from "../../../model/config/errors.js";
import { CONFIG_DIR, STATE_DIR, regionWorkloads } from "../../../model/workloads/spec.js";
import { startService } from "../../../runtime/kit/index.js";
import { LogClient } from "../../../runtime/prooflog/client.js";
import { runtimeService, spiffeId } from "../../../model/services.js";
import { ALG_COSIGNATURE_V1, generateKey, newVerifier, parseSignedNote } from "../../../runtime/prooflog/note.js";
import { witnessService } from "../../../runtime/prooflog/witness/service.js";
import { thresholdMessage, verifyThresholdCheckpoint } from "../../../runtime/prooflog/witness/threshold.js";
import { groupJson, shareJson } from "../../../runtime/tbls/index.js";
import { killServers, serveCli } from "../../cli.js";
import { readStackConfigMap } from "../../../stacks/load.js";
import { dkg, prodWith } from "./threshold-fixture.js";

const REGION = "aws-euw1";
const NAME = "meridian.example.com/witness-quorum";
const root = mkdtempSync(join(tmpdir(), "prooflog-threshold-"));
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  killServers();
  await Promise.all(closers.map((c) => c()));
  rmSync(root, { recursive: true, force: true });
});

/** What the pod's sidecar appends for an append from the map service (the rendered log takes /add from its submitters alone). */
const asMap = (td: string) => ({
  "x-forwarded-client-cert": `By=${spiffeId(td, runtimeService("prooflog"))};Hash=${"0".repeat(64)};URI=${spiffeId(td, runtimeService("map"))}`,
});

describe("the deployed proof log in threshold mode", () => {
  it("publishes checkpoints signed once by the witness quorum under the stack's group key (noble verifies)", async () => {
    const results = dkg(2, 3);
    const group = groupJson({ t: 2, n: 3, commitments: results[0]!.commitments, shares: [] });
    const origin = (readStackConfigMap("prod")["meridian:runtime"] as { prooflog: { origin: string } }).prooflog.origin;
    const logKey = generateKey(origin);
    // Three witnesses, each with its share: what the stack names by URL and verifier key.
    const witnesses = await Promise.all(
      results.map(async (r, i) => {
        const name = `w${i + 1}.example.com/witness`;
        const key = generateKey(name, ALG_COSIGNATURE_V1);
        const dir = join(root, `w${i + 1}`);
        mkdirSync(dir);
        writeFileSync(join(dir, "group.json"), JSON.stringify(group));
        writeFileSync(join(dir, "share.json"), JSON.stringify(shareJson(r.share)), { mode: 0o600 });
        const running = await startService(
          witnessService,
          { key: key.signerKey, logs: [logKey.verifierKey], data: ":memory:", server: { port: 0 }, threshold: { name: NAME, group: join(dir, "group.json"), share: join(dir, "share.json") } },
          { processMetrics: false },
        );
        closers.push(() => running.close());
        return { name, url: running.url, vkey: key.verifierKey };
      }),
    );
    const spec = prodWith({ witnesses, witnessThreshold: { name: NAME, group }, verifierKey: logKey.verifierKey });
    const w = regionWorkloads(spec, REGION).find((x) => x.service.name === "prooflog")!;
    expect(JSON.parse(w.config["group.json"]!)).toEqual(group);
    const cfg = JSON.parse(w.config["prooflog.json"]!) as Record<string, unknown>;
    expect(cfg["witnessThreshold"]).toEqual({ name: NAME, group: `${CONFIG_DIR}/prooflog/group.json` });

    // The ConfigMap and the signer Secret where the pod mounts them; the store and listen address swapped for the test's.
    const remap = (s: string) => s.split(`${CONFIG_DIR}/`).join(`${root}/etc/`);
    mkdirSync(join(root, "etc/prooflog/signer"), { recursive: true });
    // The node time agent is a cluster address: the log runs without a time reference here (not under test).
    delete cfg["timeReference"];
    writeFileSync(join(root, "etc/prooflog/prooflog.json"), remap(JSON.stringify(cfg)));
    writeFileSync(join(root, "etc/prooflog/group.json"), w.config["group.json"]!);
    const keyPath = remap(w.args[w.args.indexOf("--key") + 1]!);
    mkdirSync(dirname(keyPath), { recursive: true });
    writeFileSync(keyPath, logKey.signerKey, { mode: 0o600 });
    const args: string[] = [];
    for (let i = 0; i < w.args.length; i++) {
      const a = w.args[i]!;
      if (a === "--postgres") i++;
      else if (a === "--port") args.push(a, String((i++, 0)));
      else if (a === "--host") args.push(a, String((i++, "127.0.0.1")));
      else args.push(remap(a));
    }
    const log = await serveCli([...args, "--data", join(root, "log-data")]);

    const client = new LogClient(log.url, { addHeaders: asMap(spec.pki.trustDomain) });
    for (let i = 0; i < 3; i++) await client.add(Buffer.from(`threshold entry ${i}`));
    let note = "";
    for (let tries = 0; tries < 600; tries++) {
      note = await (await fetch(`${log.url}/checkpoint`)).text();
      if (note.split("\n")[1] === "3") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(note.split("\n").slice(0, 2)).toEqual([origin, "3"]);

    // One signature line under the group's name: 4-byte key ID + 48-byte G1 signature over the tagged checkpoint text.
    const { text, lines } = parseSignedNote(note);
    const groupSigs = lines.filter((l) => l.name === NAME).map((l) => Buffer.from(l.base64, "base64").subarray(4));
    expect(groupSigs.map((s) => s.length)).toEqual([48]);
    const bls = bls12_381.shortSignatures;
    expect(bls.verify(groupSigs[0]!, bls.hash(thresholdMessage(text)), Buffer.from(group.groupPublicKey, "hex"))).toBe(true);
    // The log's own light-client check under the group key agrees; under another group's key it refuses.
    const groupKey = { name: NAME, t: 2, n: 3, commitments: results[0]!.commitments, groupPublicKey: results[0]!.commitments[0]! };
    expect(() => verifyThresholdCheckpoint(note, [newVerifier(logKey.verifierKey)], groupKey, origin)).not.toThrow();
    const other = dkg(2, 3)[0]!.commitments;
    expect(() => verifyThresholdCheckpoint(note, [newVerifier(logKey.verifierKey)], { ...groupKey, commitments: other, groupPublicKey: other[0]! }, origin)).toThrow();

    // The region's monitor as rendered demands what the log publishes: the group's signature beside the log's (its
    // group.json beside its config), every cosigning witness in its policy. Run from its files, it verifies size 3;
    // the same monitor given another group's key refuses every checkpoint.
    const m = regionWorkloads(spec, REGION).find((x) => x.service.name === "monitor")!;
    expect(JSON.parse(m.config["group.json"]!)).toEqual(group);
    const mcfg = JSON.parse(m.config["monitor.json"]!) as { policy: string; threshold: unknown; log: string; peers: string[]; intervalMs: number };
    expect(mcfg.threshold).toEqual({ name: NAME, group: `${CONFIG_DIR}/monitor/group.json` });
    expect(
      mcfg.policy
        .split("\n")
        .filter((l) => l.startsWith("witness "))
        .map((l) => l.split(" ")[1]),
    ).toEqual(witnesses.map((w) => w.name));
    const runMonitor = async (dir: string, groupJsonText: string) => {
      const at = (p: string) => p.split(`${CONFIG_DIR}/`).join(`${root}/${dir}/`).split(`${STATE_DIR}/`).join(`${root}/${dir}/state/`);
      mkdirSync(join(root, dir, "monitor"), { recursive: true });
      writeFileSync(join(root, dir, "monitor/group.json"), groupJsonText);
      writeFileSync(join(root, dir, "monitor/monitor.json"), at(JSON.stringify({ ...mcfg, log: log.url, peers: [], intervalMs: 100 })));
      const cli = m.args.map((a, i) => (m.args[i - 1] === "--port" ? "0" : m.args[i - 1] === "--host" ? "127.0.0.1" : at(a)));
      return (await serveCli(cli)).url;
    };
    type Status = { size: number | null; entriesChecked: number; lastError: string | null; threshold?: string };
    const status = async (u: string) => (await (await fetch(`${u}/v1/status`)).json()) as Status;
    // Each status is judged as read: on a loaded machine a later round may time out reading the log (a transient
    // lastError), which says nothing about the group.
    const monitor = await runMonitor("m1", m.config["group.json"]!);
    let seen: Status;
    while ((seen = await status(monitor)).size !== 3 || seen.lastError !== null) await new Promise((r) => setTimeout(r, 100));
    expect(seen).toMatchObject({ size: 3, entriesChecked: 3, lastError: null, threshold: `${NAME} (2 of 3)` });
    const foreign = await runMonitor("m2", JSON.stringify(groupJson({ t: 2, n: 3, commitments: other, shares: [] })));
    // Until it refuses the group signature or (wrongly) verifies a size.
    while ((seen = await status(foreign)).size === null && !/threshold signature of /.test(seen.lastError ?? "")) await new Promise((r) => setTimeout(r, 100));
    expect(seen).toMatchObject({ size: null, lastError: expect.stringMatching(/threshold signature of /) });
  }, 120_000);

  it("a group that needs more partial signatures than the cosigning witnesses is refused at the key", () => {
    const results = dkg(2, 3);
    const group = groupJson({ t: 2, n: 3, commitments: results[0]!.commitments, shares: [] });
    const vkey = generateKey("w1.example.com/witness", ALG_COSIGNATURE_V1).verifierKey;
    let thrown: unknown;
    try {
      // One cosigning witness (the others are name-only: they cosign out of band and send no partials).
      prodWith({ witnesses: ["witness-a", { name: "w1.example.com/witness", url: "https://w1.example.com", vkey }], witnessThreshold: { name: NAME, group } });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(StackConfigError);
    expect((thrown as StackConfigError).problems).toMatchObject([
      { keyPath: "meridian:runtime.prooflog.witnessThreshold.group.t", expected: "the group needs 2 partial signatures; only 1 cosigning witnesses (with url and vkey) are configured" },
    ]);
    // A group.json whose first commitment is not its key is refused too.
    expect(() => prodWith({ witnessThreshold: { name: NAME, group: { ...group, groupPublicKey: "00".repeat(96) } } })).toThrow(/expected t commitments, the first being the group key/);
  });
});
