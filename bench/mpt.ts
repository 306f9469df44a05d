// `npm run bench -- mpt`: Ethereum's Merkle Patricia trie (runtime/mpt) beside the other authenticated
// structures at 10^3, 10^4 and 10^5 keys: proof sizes (bytes on the wire, mean over sampled keys) and
// verification time per proof for the secure MPT (20-byte address keys, 70-byte account-sized values), the
// 256-level sparse Merkle tree (runtime/prooflog SMT: a 32-byte bitmap of default siblings + the others) and the
// log's RFC 6962 tree (inclusion proof of one leaf); plus MPT build rate and a 100-key range proof.
// No peer library runs here (none installed); the three structures are each other's comparison.
import { hash } from "node:crypto";
import { MerklePatriciaTrie, proveRange, verifyProof, checkRangeProof } from "../runtime/mpt/index.js";
import { MerkleTree, SparseMerkleTree, verifySmtProof } from "../runtime/prooflog/index.js";
import { report, row, type BenchRow } from "./lib/report.js";

const SAMPLE = 300;
const address = (i: number) => hash("sha256", `account-${i}`, "buffer").subarray(0, 20);
const account = (i: number) => hash("sha512", `state-${i}`, "buffer").subarray(0, 70);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function micros(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e3;
}

const rows: BenchRow[] = [];
for (const n of [1_000, 10_000, 100_000]) {
  const picks = Array.from({ length: SAMPLE }, (_, j) => Math.floor((j * n) / SAMPLE));

  // MPT (secure): build, prove, verify.
  const trie = new MerklePatriciaTrie({ secure: true });
  const buildUs = micros(() => {
    for (let i = 0; i < n; i++) trie.put(address(i), account(i));
    trie.rootHash();
  });
  const root = trie.rootHash();
  const proofs = picks.map((i) => trie.prove(address(i)));
  const absent = picks.map((i) => trie.prove(address(n + i)));
  const size = (p: Uint8Array[]) => p.reduce((s, node) => s + node.length, 0);
  const verifyUs = median(picks.map((i, j) => micros(() => verifyProof(root, address(i), proofs[j]!, { secure: true }))));
  rows.push(row(`mpt build n=${n}`, "inserts/s", (n / buildUs) * 1e6, null, "secure trie, puts then one root hash"));
  rows.push(row(`mpt proof n=${n}`, "bytes", mean(proofs.map(size)), null, `mean over ${SAMPLE} present keys; ${mean(proofs.map((p) => p.length)).toFixed(1)} nodes`));
  rows.push(row(`mpt exclusion proof n=${n}`, "bytes", mean(absent.map(size)), null, `mean over ${SAMPLE} absent keys`));
  rows.push(row(`mpt verify n=${n}`, "µs/proof", verifyUs, null, "median; keccak-256 in JS (@noble/hashes)"));

  // 100 consecutive hashed keys: entries plus the two boundary paths.
  const keys = [...trie.entries()].map((e) => e.key);
  const lo = keys[Math.floor(keys.length / 2) - 50]!;
  const hi = keys[Math.floor(keys.length / 2) + 49]!;
  const range = proveRange(trie, lo, hi);
  checkRangeProof(root, range); // warm-up: the first call compiles the verifier
  const rangeUs = micros(() => checkRangeProof(root, range));
  rows.push(row(`mpt range proof (100 keys) n=${n}`, "bytes", size(range.proof), null, `boundary nodes only (entries add ${range.entries.length}×(32+70) bytes); verify ${Math.round(rangeUs)} µs`));

  // Sparse Merkle tree over the same keys hashed to 32 bytes (`npm run bench -- verkle` takes it to 10^6).
  {
    const smt = new SparseMerkleTree();
    const smtKey = (i: number) => hash("sha256", address(i), "buffer");
    smt.setMany(Array.from({ length: n }, (_, i) => [smtKey(i), account(i)] as const));
    const smtRoot = smt.root();
    const smtProofs = picks.map((i) => smt.prove(smtKey(i)));
    const smtVerify = median(picks.map((i, j) => micros(() => verifySmtProof(smtRoot, smtKey(i), account(i), smtProofs[j]!))));
    rows.push(row(`smt proof n=${n}`, "bytes", mean(smtProofs.map((p) => 32 + p.filter((h) => h !== null).length * 32)), null, "32-byte default-sibling bitmap + non-default siblings"));
    rows.push(row(`smt verify n=${n}`, "µs/proof", smtVerify, null, "median; 257 SHA-256 (node:crypto)"));
  }

  // The log's Merkle tree: an inclusion proof of one leaf.
  const log = new MerkleTree();
  for (let i = 0; i < n; i++) log.appendEntry(account(i));
  process.stderr.write(`mpt bench: n=${n} done\n`);
  rows.push(row(`log inclusion proof n=${n}`, "bytes", mean(picks.map((i) => log.inclusionProof(i).length * 32)), null, "RFC 6962, ⌈log2 n⌉ hashes"));
}
report("mpt", rows);
