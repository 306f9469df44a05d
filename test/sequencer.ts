/**
 * Test files in the order that finishes soonest on few workers: the slowest first, so no long file starts last
 * while the other workers sit idle (a fresh CI checkout has no vitest cache, so vitest's own order is by file
 * size). The seconds come from test/durations.json, a full run's file durations (test/durations.ts refreshes it);
 * a file not in it counts as UNKNOWN seconds.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const UNKNOWN = 10;
const DURATIONS = JSON.parse(readFileSync(new URL("./durations.json", import.meta.url), "utf8")) as Record<string, number>;

export class SlowestFirst extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = (f: TestSpecification) => DURATIONS[relative(f.project.config.root, f.moduleId).replaceAll("\\", "/")] ?? UNKNOWN;
    return Promise.resolve([...files].sort((a, b) => seconds(b) - seconds(a)));
  }
}
