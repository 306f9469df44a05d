/**
 * Test files in the order that finishes soonest on few workers: the slowest first, so no long file starts last
 * while the other workers sit idle (a fresh CI checkout has no vitest cache, so vitest's own order is by file
 * size). The seconds come from test/durations.json, a full run's file durations (test/durations.ts refreshes it);
 * a file not in it counts as UNKNOWN seconds.
 *
 * The short files then run grouped by project: vitest hands a shared worker (isolate: false) the next file only
 * when that file is of the same project, else it stops the worker and the next shared file pays a fresh one (and
 * re-imports, e.g. the Pulumi SDK). Slowest-first across projects interleaved them, wasting most of that reuse.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const UNKNOWN = 10;
/** Files at least this slow (durations.json's seconds) run first, slowest first, whatever their project. */
const LONG = 20;
const DURATIONS = JSON.parse(readFileSync(new URL("./durations.json", import.meta.url), "utf8")) as Record<string, number>;

export class SlowestFirst extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = (f: TestSpecification) => DURATIONS[relative(f.project.config.root, f.moduleId).replaceAll("\\", "/")] ?? UNKNOWN;
    const slowestFirst = (a: TestSpecification, b: TestSpecification) => seconds(b) - seconds(a);
    const long = files.filter((f) => seconds(f) >= LONG).sort(slowestFirst);
    const short = files.filter((f) => seconds(f) < LONG).sort((a, b) => a.project.name.localeCompare(b.project.name) || slowestFirst(a, b));
    return Promise.resolve([...long, ...short]);
  }
}
