/**
 * Benchmark reporting: every bench prints a table and writes `bench/results/<name>.json` as
 * `[{ metric, unit, ours, peer, ratio, notes }]` (peer and ratio null where no peer exists).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface BenchRow {
  metric: string;
  unit: string;
  ours: number;
  peer: number | null;
  ratio: number | null;
  notes: string;
}

export function row(metric: string, unit: string, ours: number, peer: number | null, notes = ""): BenchRow {
  return { metric, unit, ours, peer, ratio: peer === null || peer === 0 ? null : ours / peer, notes };
}

export function report(name: string, rows: BenchRow[]): void {
  const fmt = (n: number | null) => (n === null ? "—" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toPrecision(3));
  console.log(`\n${name}`);
  console.table(rows.map((r) => ({ metric: r.metric, unit: r.unit, ours: fmt(r.ours), peer: fmt(r.peer), ratio: fmt(r.ratio), notes: r.notes })));
  const dir = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(rows, null, 2)}\n`);
}
