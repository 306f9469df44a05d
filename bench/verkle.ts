// `npm run bench -- verkle`: the Verkle tree (runtime/verkle, width 256, KZG over BLS12-381) against the secure
// Merkle Patricia trie (runtime/mpt) and the 256-level sparse Merkle tree (runtime/prooflog SMT) at 10^3 … 10^6
// keys: proof size (bytes on the wire, mean over sampled keys), verification time per proof, and the Verkle
// multiproof for 100 keys at once against 100 separate MPT proofs. Keys are random (hashed addresses), one
// 70-byte value per key — for Verkle the worst case: every key its own stem (EIP-6800 puts an account's fields
// on one stem, which shares the path). Times are CPU time of this process (the machine is shared), median.
// The Verkle tree is built with VerkleTree.fromEntries (sorted, each commitment once); at 10^3 and 10^4 keys also
// by puts, which must give the same root. 10^6 keys take ~1 GB of heap for the Verkle tree alone: run with
// NODE_OPTIONS=--max-old-space-size=8192. VERKLE_BENCH_SIZES=1000000 runs only those sizes and keeps the other
// sizes' rows of bench/results/verkle.json. Per size the MPT runs first, then the SMT, then the Verkle tree
// (slowest), and the results are written after each, so a run stopped early keeps what it measured.
import { hash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { MerklePatriciaTrie, verifyProof as verifyMpt } from "../runtime/mpt/index.js";
import { SparseMerkleTree, verifySmtProof } from "../runtime/prooflog/index.js";
import { VerkleTree, proofSize, verifyProof as verifyVerkle } from "../runtime/verkle/index.js";
import { report, row, type BenchRow } from "./lib/report.js";

const SIZES = (process.env.VERKLE_BENCH_SIZES ?? "1000,10000,100000,1000000").split(",").map(Number);
const SAMPLE = 20;
const BATCH = 100;
const INCREMENTAL_MAX = 10_000;
const address = (i: number) => hash("sha256", `account-${i}`, "buffer").subarray(0, 20);
const treeKey = (i: number) => hash("sha256", address(i), "buffer");
const account = (i: number) => hash("sha512", `state-${i}`, "buffer").subarray(0, 70);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** CPU microseconds spent in fn. */
function cpuMicros(fn: () => unknown): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return d.user + d.system;
}
const log = (s: string) => process.stderr.write(`verkle bench: ${s}\n`);

const RESULTS = new URL("./results/verkle.json", import.meta.url);
const sizeOf = (r: BenchRow) => Number(/ n=(\d+)/.exec(r.metric)?.[1]);
const kept: BenchRow[] = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, "utf8")) as BenchRow[]).filter((r) => !SIZES.includes(sizeOf(r))) : [];
const rows: BenchRow[] = [];
/** Write this run's rows with the other sizes' rows of an earlier run, by size. */
const save = () =>
  report(
    "verkle",
    [...kept, ...rows].sort((a, b) => sizeOf(a) - sizeOf(b)),
  );

type Entries = readonly (readonly [Buffer, Buffer])[];

function mptRows(n: number, picks: number[], batch: number[]): void {
  // MPT (secure): the same keys as addresses (the trie hashes them), the same values.
  const trie = new MerklePatriciaTrie({ secure: true });
  const mptUs0 = cpuMicros(() => {
    for (let i = 0; i < n; i++) trie.put(address(i), account(i));
    trie.rootHash();
  });
  const mptRoot = trie.rootHash();
  rows.push(row(`mpt build n=${n}`, "inserts/s", (n / mptUs0) * 1e6, null, "secure trie, puts then one root hash (CPU time)"));
  const size = (p: Uint8Array[]) => p.reduce((s, node) => s + node.length, 0);
  const mptProofs = picks.map((i) => trie.prove(address(i)));
  verifyMpt(mptRoot, address(picks[0]!), mptProofs[0]!, { secure: true });
  const mptUs = median(picks.map((i, j) => cpuMicros(() => verifyMpt(mptRoot, address(i), mptProofs[j]!, { secure: true }))));
  const mptBatch = batch.map((i) => trie.prove(address(i)));
  const distinct = new Set(mptBatch.flat().map((node) => Buffer.from(node).toString("hex")));
  const mptBatchDedup = [...distinct].reduce((s, h) => s + h.length / 2, 0);
  rows.push(row(`mpt proof n=${n}`, "bytes", mean(mptProofs.map(size)), null, `mean over ${SAMPLE} present keys`));
  rows.push(row(`mpt verify n=${n}`, "µs/proof", mptUs, null, "median CPU; keccak-256 in JS"));
  rows.push(row(`mpt ${BATCH} proofs n=${n}`, "bytes", mptBatchDedup, null, `distinct nodes of ${BATCH} proofs (${mptBatch.reduce((s, p) => s + size(p), 0)} bytes before sharing)`));
}

function smtRows(n: number, picks: number[], entries: Entries): void {
  // Sparse Merkle tree over the same 32-byte keys.
  const smt = new SparseMerkleTree();
  const smtUs0 = cpuMicros(() => smt.setMany(entries));
  const smtRoot = smt.root();
  rows.push(row(`smt build n=${n}`, "inserts/s", (n / smtUs0) * 1e6, null, "setMany then one root (CPU time): ~256 SHA-256 per key"));
  const smtProofs = picks.map((i) => smt.prove(treeKey(i)));
  const smtUs = median(picks.map((i, j) => cpuMicros(() => verifySmtProof(smtRoot, treeKey(i), account(i), smtProofs[j]!))));
  rows.push(row(`smt proof n=${n}`, "bytes", mean(smtProofs.map((p) => 32 + p.filter((h) => h !== null).length * 32)), null, "32-byte default-sibling bitmap + non-default siblings"));
  rows.push(row(`smt verify n=${n}`, "µs/proof", smtUs, null, "median CPU; 257 SHA-256"));
}

function verkleRows(n: number, picks: number[], batch: number[], entries: Entries): void {
  // Verkle: build, then single-key proofs (present and absent) and one multiproof for BATCH keys.
  let tree = new VerkleTree();
  const buildUs = cpuMicros(() => {
    tree = VerkleTree.fromEntries(entries);
    tree.root();
  });
  log(`n=${n}: Verkle built in ${(buildUs / 1e6).toFixed(1)} s CPU`);
  if (n <= INCREMENTAL_MAX) {
    const incremental = new VerkleTree();
    const putsUs = cpuMicros(() => {
      for (const [k, v] of entries) incremental.put(k, v);
      incremental.root();
    });
    if (Buffer.compare(incremental.root(), tree.root()) !== 0) throw new Error(`n=${n}: the bulk-built root differs from the root of puts`);
    rows.push(row(`verkle puts n=${n}`, "inserts/s", (n / putsUs) * 1e6, null, "put one by one, then one root commitment (CPU time); same root as the bulk build"));
  }
  const root = tree.root();
  const proofs = picks.map((i) => tree.prove([treeKey(i)]));
  const absent = picks.map((i) => tree.prove([treeKey(n + i)]));
  verifyVerkle(root, [{ key: treeKey(picks[0]!), value: account(picks[0]!) }], proofs[0]!); // warm-up
  const verifyUs = median(picks.map((i, j) => cpuMicros(() => verifyVerkle(root, [{ key: treeKey(i), value: account(i) }], proofs[j]!))));
  const multi = tree.prove(batch.map(treeKey));
  const multiUs = cpuMicros(() =>
    verifyVerkle(
      root,
      batch.map((i) => ({ key: treeKey(i), value: account(i) })),
      multi,
    ),
  );
  const depth = mean(proofs.map((p) => p.depthStatus[0]! >> 3));
  rows.push(row(`verkle build n=${n}`, "inserts/s", (n / buildUs) * 1e6, null, "VerkleTree.fromEntries + root (CPU time, incl. the basis window tables the first time: ~6 s, ~16 s from 10^5 keys)"));
  rows.push(row(`verkle proof n=${n}`, "bytes", mean(proofs.map(proofSize)), null, `mean over ${SAMPLE} present keys; depth ${depth.toFixed(2)}: 1 + 48·depth + 96`));
  rows.push(row(`verkle exclusion proof n=${n}`, "bytes", mean(absent.map(proofSize)), null, `mean over ${SAMPLE} absent keys (empty slot or another stem's leaf)`));
  rows.push(row(`verkle verify n=${n}`, "µs/proof", verifyUs, null, "median CPU; decompress path points, 1 MSM, 2 pairings (@noble/curves)"));
  rows.push(row(`verkle multiproof (${BATCH} keys) n=${n}`, "bytes", proofSize(multi), null, `${multi.commitments.length} distinct path commitments + 96; verify ${Math.round(multiUs / 1e3)} ms CPU`));
  log(`n=${n}: Verkle proofs done`);
}

for (const n of SIZES) {
  const picks = Array.from({ length: SAMPLE }, (_, j) => Math.floor((j * n) / SAMPLE));
  const batch = Array.from({ length: BATCH }, (_, j) => Math.floor((j * n) / BATCH));
  const entries = Array.from({ length: n }, (_, i) => [treeKey(i), account(i)] as const);
  mptRows(n, picks, batch);
  save();
  smtRows(n, picks, entries);
  save();
  verkleRows(n, picks, batch, entries);
  save();
  log(`n=${n} done`);
}
