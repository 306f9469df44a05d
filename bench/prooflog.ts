// `npm run bench -- prooflog`: append throughput (in memory and durable, group commit) as a share of the raw
// SHA-256 rate for 65-byte inputs measured in the same run, and inclusion-proof throughput beside merkletreejs.
import { hash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MerkleTree as PeerTree } from "merkletreejs";
import { report, row } from "./lib/report.js";
import { TransparencyLog } from "../runtime/prooflog/log.js";
import { MemoryStore } from "../runtime/prooflog/storage/store.js";
import { FileStore } from "../runtime/prooflog/storage/file.js";
import { generateKey, newSigner } from "../runtime/prooflog/note.js";
import { MerkleTree } from "../runtime/prooflog/tree.js";
import { leafHash } from "../runtime/prooflog/rfc6962.js";

const perSecond = (n: number, ms: number) => (n / ms) * 1000;
const time = async (fn: () => unknown) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

// Clients keep WAVE appends in flight (like a busy HTTP front end), for the in-memory and durable runs alike.
const WAVE = 20_000;
// Each wave queues its entries and waits until the last one's batch is durable (batches complete in order).
async function inWaves(log: TransparencyLog, es: Buffer[]): Promise<void> {
  for (let at = 0; at < es.length; at += WAVE) {
    let last: Promise<void> = Promise.resolve();
    for (let i = at; i < Math.min(es.length, at + WAVE); i++) last = log.append(es[i]!).durable;
    await last;
  }
}

// 64-byte entries: the leaf hash input is then exactly 65 bytes, like a node hash.
const entries = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => {
    const b = Buffer.alloc(64, salt);
    b.writeUInt32BE(i, 0);
    return b;
  });

// 1–2. Raw SHA-256 of 65-byte inputs, in-memory appends through the sequencer (dedupe on, promises, batching)
// and through the bare tree. The machine is shared, so the three run interleaved in short rounds (each round
// sees the same load) and each reports its median round.
const ROUNDS = 10;
const H = 100_000;
const buf65 = Buffer.alloc(65, 7);
const PER_ROUND = 40_000;
const N = ROUNDS * PER_ROUND;
const memEntries = entries(N, 1);
const signer = newSigner(generateKey("bench.example/log").signerKey);
const memLog = await TransparencyLog.open({ origin: "bench.example/log", signer, store: new MemoryStore() });
const bare = new MerkleTree();
const raws: number[] = [];
const mems: number[] = [];
const bares: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  raws.push(perSecond(H, await time(() => {
    for (let i = 0; i < H; i++) {
      buf65[0] = i & 255;
      hash("sha256", buf65, "buffer");
    }
  })));
  const slice = memEntries.slice(round * PER_ROUND, (round + 1) * PER_ROUND);
  mems.push(perSecond(PER_ROUND, await time(() => inWaves(memLog, slice))));
  bares.push(perSecond(PER_ROUND, await time(() => {
    for (const e of slice) bare.appendEntry(e);
  })));
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const rawRate = median(raws);
const memRate = median(mems);
const bareRate = median(bares);

// 3. Durable appends: embedded file store, fdatasync per batch (group commit), 20,000 writers in flight.
const dir = mkdtempSync(join(tmpdir(), "prooflog-bench-"));
const fileLog = await TransparencyLog.open({ origin: "bench.example/log", signer, store: new FileStore(dir) });
const D = 400_000;
const durEntries = entries(D, 2);
const durMs = await time(() => inWaves(fileLog, durEntries));
const durRate = perSecond(D, durMs);
await fileLog.close();
rmSync(dir, { recursive: true, force: true });

// 4. Inclusion proofs at 10^6 leaves (by leaf hash: lookup + proof, as merkletreejs's getProof(leaf) does).
const BIG = 1_000_000;
const bigLog = await TransparencyLog.open({ origin: "bench.example/log", signer, store: new MemoryStore() });
await Promise.all(entries(BIG, 3).map((e) => bigLog.add(e)));
const probeLeaves = Array.from({ length: 2000 }, (_, i) => {
  const b = Buffer.alloc(64, 3);
  b.writeUInt32BE((i * 7919) % BIG, 0);
  return leafHash(b);
});
const P = 200_000;
const oursBigMs = await time(async () => {
  for (let i = 0; i < P; i++) {
    const leaf = probeLeaves[i % probeLeaves.length]!;
    await bigLog.inclusionProof(bigLog.indexOf(leaf)!, BIG);
  }
});
const oursBig = perSecond(P, oursBigMs);

// merkletreejs at the same 10^6 leaves: it builds in seconds, and getProof(leaf) scans the leaves, so few proofs.
const peerLeaves = Array.from({ length: BIG }, (_, i) => Buffer.from(leafHash(Buffer.from(`peer ${i}`))));
const sha = (d: Buffer) => hash("sha256", d, "buffer");
const peerBuildMs = await time(() => new PeerTree(peerLeaves, sha));
const peer = new PeerTree(peerLeaves, sha);
const Q = 20;
const peerMs = await time(() => {
  for (let i = 0; i < Q; i++) peer.getProof(peerLeaves[(i * 7919) % BIG]!);
});
const peerRate = perSecond(Q, peerMs);
const SMALL = BIG;
const peerIdxMs = await time(() => {
  for (let i = 0; i < P; i++) peer.getProof(peerLeaves[(i * 7919) % SMALL]!, (i * 7919) % SMALL);
});
const peerIdxRate = perSecond(P, peerIdxMs);
const smallTree = new MerkleTree();
for (const l of peerLeaves) smallTree.appendLeafHash(l);
const oursIdxSmall = perSecond(P, await time(() => {
  for (let i = 0; i < P; i++) smallTree.inclusionProof((i * 7919) % SMALL, SMALL);
}));

report("prooflog", [
  row("sha256 65-byte inputs (raw)", "hashes/s", rawRate, null, "node:crypto hash(), same run; the reference for the append ratios"),
  row("in-memory appends (sequencer)", "appends/s", memRate, rawRate, `TransparencyLog.append + MemoryStore, 64-byte entries, dedupe on, waves of ${WAVE} awaiting durability; median of ${ROUNDS} rounds interleaved with the raw hash; goal ≥ 0.20 of raw hash rate (ceiling 0.5)`),
  row("in-memory appends (bare tree)", "appends/s", bareRate, rawRate, "MerkleTree.appendEntry only"),
  row("durable appends (group commit)", "appends/s", durRate, memRate, `FileStore, one write + fdatasync per batch, waves of ${WAVE}; ratio vs in-memory sequencer, goal ≥ 0.25`),
  row("inclusion proofs @1e6 by leaf", "proofs/s", oursBig, peerRate, `both at 10^6 leaves, from the leaf: log.indexOf + inclusionProof vs merkletreejs getProof(leaf) (built in ${(peerBuildMs / 1000).toFixed(1)} s, ${Q} proofs); goal ≥ 1000×`),
  row("inclusion proofs @1e6 by index", "proofs/s", oursIdxSmall, peerIdxRate, "both given the index: merkletreejs getProof(leaf, index) (no search), same 10^6-leaf size"),
]);
