// `npm run bench -- das`: Reed–Solomon erasure coding with the shard commitment (runtime/das) at a few blob sizes
// and k/n, in MB of input per second: encode (shards + Merkle root + proofs), decode from the k data shards
// (proofs checked, re-encoded to confirm one codeword), and decode from the last k shards only (the worst case:
// a k×k inversion and k·k multiply-adds per byte column, then the same check). The peer is SHA-256 over the
// n shards' bytes in the same run — what the commitment alone costs, the floor under any encode.
import { hash } from "node:crypto";
import { decodeBlob, encodeBlob } from "../runtime/das/index.js";
import { report, row, type BenchRow } from "./lib/report.js";

const MB = 1024 * 1024;

function rate(bytes: number, fn: () => unknown): number {
  fn(); // warm-up
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return bytes / MB / best;
}

const rows: BenchRow[] = [];
for (const [k, n] of [
  [4, 8],
  [16, 32],
] as const) {
  for (const size of [64 * 1024, MB, 8 * MB]) {
    const blob = Uint8Array.from({ length: size }, (_, i) => (i * 2654435761) >>> 24);
    const { shards, commitment } = encodeBlob(blob, k, n);
    const all = Buffer.concat(shards);
    const label = `k=${k} n=${n} ${size >= MB ? `${size / MB} MiB` : `${size / 1024} KiB`}`;
    const sha = rate(size, () => hash("sha256", all));
    rows.push(
      row(
        `encode ${label}`,
        "MB/s",
        rate(size, () => encodeBlob(blob, k, n)),
        sha,
        "peer: SHA-256 over the n shards",
      ),
    );
    const dataOnly = shards.map((s, i) => (i < k ? s : undefined));
    rows.push(
      row(
        `decode from data shards ${label}`,
        "MB/s",
        rate(size, () => decodeBlob(commitment, dataOnly)),
        sha,
        "proofs + re-encode check",
      ),
    );
    const parityOnly = shards.map((s, i) => (i >= n - k ? s : undefined));
    rows.push(
      row(
        `decode from last k shards ${label}`,
        "MB/s",
        rate(size, () => decodeBlob(commitment, parityOnly)),
        sha,
        "inversion + re-encode check",
      ),
    );
  }
}
report("das", rows);
