import { defineConfig } from "vitest/config";
import { SlowestFirst } from "./test/sequencer.js";

/**
 * Files that run in a shared worker (isolate: false): a fresh process per file costs ~0.35 CPU s, ~1.8 s for a file
 * that loads the Pulumi SDK (test/model: 37 -> 18 CPU s; test/components/dns: 50 -> 25; test/components/pki and
 * workloads with test/stacks: 108 -> 70; preview, monitoring, network, security and time: 42 -> 31; replication and
 * cluster, whose topology/pod-security tests then read the worker's one prod plan: 36 -> 32 CPU s with three more files). Only
 * directories whose files were checked to pass this way, whatever ran before them in the worker, belong here.
 */
const SHARED_WORKER = [
  "test/model/**/*.test.ts",
  "test/stacks/**/*.test.ts",
  ...["dns", "pki", "workloads", "preview", "monitoring", "network", "security", "time", "replication", "cluster"].map((d) => `test/components/${d}/**/*.test.ts`),
  // test/runtime/clock: 33 -> 18 CPU s (34 files); the others passed shuffled in one shared worker too.
  ...["clock", "ratelimit", "quota"].map((d) => `test/runtime/${d}/**/*.test.ts`),
  // The pack over every shipped stack: reads the worker's prod plan (sharedPlan) and loads no SDK of its own.
  "test/policies/stacks.test.ts",
  // `meridian plan` and `cost` in this process (test/cli-in-process.ts): the SDK and the commands load once per worker.
  "test/cli/{cost,cost-policy,plan}.test.ts",
  // The short CLI files (29, each under 4 s in CI): the CLI as processes or in this process, on port 0 and temp dirs.
  `test/cli/{${["cert", "log-witness-threshold", "log", "runtime-image", "log-witness", "log-batch", "tbls-reshare", "time-reset", "time-lock", "ratelimit", "traffic", "usage", "escrow", "attest", "verkle", "das", "pki", "fraud", "tbls", "dns", "rotate", "time", "dns-import-json", "mpt", "dns-ds", "note", "escrow-htlc", "images-stack-file", "args"].join(",")}}.test.ts`,
  // The libraries with their services and CLIs on port 0 (40 files): 72 -> 53 CPU s; they passed with the files
  // shuffled among test/runtime/quota's and test/components/preview's (their tests run in order within a file).
  // Not test/runtime/tbls: dkg-http's man-in-the-middle case runs five participants against an 8 s phase, which it
  // overran in the shared worker in CI (participant 2 counted absent at 9.6 s); in a fresh fork it keeps its margin.
  ...["mpt", "das", "certchain", "verkle", "identity", "fraud", "compliance", "gslb", "common", "health", "bridge"].map((d) => `test/runtime/${d}/**/*.test.ts`),
  // test/runtime/prooflog and kit (46 files): 100 -> 58 CPU s, 135 -> 80 s wall on the loaded shared machine; they passed
  // with the files shuffled (their tests in order within a file), but for storage/s3.test.ts (below). test/runtime/escrow
  // (33 files): 48 -> 33 CPU s; it passed shuffled alone and among prooflog's and quota's. test/runtime/replication
  // (10 files, mostly waiting on its stores): 37 -> 29 CPU s; it passed shuffled alone and among escrow's and kit's.
  ...["prooflog", "kit", "escrow", "replication"].map((d) => `test/runtime/${d}/**/*.test.ts`),
  // The short files of test/runtime/attest and vmap and the pack's pure-rule files (21 files, each under 5 s in CI):
  // 45.6/49.6 -> 36.1/38.3 CPU s; they passed shuffled in one worker among test/runtime/quota's, kit's, mpt's and
  // test/components/preview's (two orders). Not tried shared, so each still in a process of its
  // own: attest's persist (swtpm, kill -9) and spire-plugin (a Go build), vmap's persist (moto, kill -9) and s3-lock (moto).
  "test/runtime/attest/{core,endorsement,nitro,registry,service,sev-snp,spire,timestamp,verifier,x509}.test.ts",
  "test/runtime/vmap/{batching,file-lock,group-commit,map,postgres-lock,publish,service,writers}.test.ts",
  "test/policies/{cost,safety,table}.test.ts",
];
/**
 * Shared-directory files that each run in a fresh process, as before: those that drive real chronyd/ptp4l against
 * wall-clock time, and the S3 log store against s3rver (in a shared worker after other prooflog files, its state
 * object read back empty), and the escrow's hung stores, hung-*.test.ts (connections to a stopped server close late, after the file).
 */
const OWN_PROCESS = ["test/runtime/clock/{agent,chrony-sync,grandmaster}.test.ts", "test/runtime/prooflog/storage/s3.test.ts", "test/runtime/escrow/**/hung-*.test.ts"];

export default defineConfig({
  test: {
    pool: "forks",
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // Two cores: more workers only thrash.
    maxWorkers: 2,
    sequence: { sequencer: SlowestFirst },
    projects: [
      { extends: true, test: { name: "isolated", include: ["test/**/*.test.ts"], exclude: SHARED_WORKER } },
      { extends: true, test: { name: "own-process", include: OWN_PROCESS } },
      { extends: true, test: { name: "shared", include: SHARED_WORKER, exclude: OWN_PROCESS, isolate: false } },
    ],
  },
});
