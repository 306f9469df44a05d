/**
 * Refresh test/durations.json (the order test/sequencer.ts runs files in) from a full run's JSON report:
 *   npx vitest run --reporter=json --outputFile=/tmp/run.json; npx tsx test/durations.ts /tmp/run.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const report = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { testResults: { name: string; startTime: number; endTime: number }[] };
const seconds = report.testResults.map((f) => [relative(ROOT, f.name), Math.round(f.endTime - f.startTime) / 1000] as const).sort((a, b) => b[1] - a[1]);
writeFileSync(new URL("./durations.json", import.meta.url), `${JSON.stringify(Object.fromEntries(seconds), null, 2)}\n`);
