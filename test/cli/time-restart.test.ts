// `meridian time serve` across kill -9: HLC timestamps after a restart are above every timestamp before it —
// with the persisted upper bound, with the state directory emptied, and with a state file restored from an
// older snapshot. Before the restart the HLC is forwarded close to max offset ahead of the physical clock
// (as a peer may), so a restart that did not wait would issue lower timestamps (issue #16: 6.3 s lower).
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { format, parse, type Timestamp } from "../../runtime/clock/index.js";
import { compare } from "../../runtime/clock/timestamp.js";
import { UPPER_BOUND_FILE } from "../../runtime/clock/upper-bound.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../cli.js";

/**
 * The clocks' max offset: what each restart waits out (4 s; 8 s before — the cases are the same, the HLC forwarded to
 * within 300 ms of it before the kill, so a restart that did not wait issues timestamps lower by ~3.7 s less its own
 * start-up time: with 3 s, a restart that skipped the wait still showed 1.4 s lower here, under load).
 */
const MAX_OFFSET_MS = 4000;

interface Serving {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

const children: ChildProcess[] = [];

/** A state directory whose bound is just ahead, so a first start does not wait out the whole max offset. */
function seeded(dir: string): string {
  writeFileSync(join(dir, UPPER_BOUND_FILE), JSON.stringify({ upperBoundMicros: (Date.now() + 200) * 1000 }));
  return dir;
}

function serve(dataDir: string): Promise<Serving> {
  const child = spawn(process.execPath, [MERIDIAN_BIN, "time", "serve", "--port", "0", "--region", "r1", "--max-offset-ms", String(MAX_OFFSET_MS), "--data-dir", dataDir], { cwd: REPO_ROOT });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url, stderr: () => stderr });
    });
    child.on("exit", (code) => reject(new Error(`time serve exited ${code} before ready: ${stderr}`)));
  });
}

async function stamp(url: string, forward?: Timestamp): Promise<Timestamp> {
  const res = await fetch(`${url}/v1/time`, { headers: forward ? { "x-meridian-hlc": format(forward) } : {} });
  if (res.status !== 200) throw new Error(`GET /v1/time: HTTP ${res.status}`);
  return parse(res.headers.get("x-meridian-hlc")!);
}

async function kill9(s: Serving): Promise<void> {
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGKILL");
  await exited;
}

/** Timestamps from a running clock, the HLC first forwarded to (almost) max offset ahead. */
async function issueAhead(s: Serving): Promise<Timestamp[]> {
  const out = [await stamp(s.url)];
  out.push(await stamp(s.url, { wall: (Date.now() + MAX_OFFSET_MS - 300) * 1000, logical: 7 }));
  for (let i = 0; i < 5; i++) out.push(await stamp(s.url));
  return out;
}

const maxOf = (ts: Timestamp[]) => ts.reduce((a, b) => (compare(a, b) >= 0 ? a : b));
const minOf = (ts: Timestamp[]) => ts.reduce((a, b) => (compare(a, b) <= 0 ? a : b));

function waitReason(s: Serving): string {
  const line = s
    .stderr()
    .split("\n")
    .find((l) => l.includes("HLC start-up wait over"));
  return (JSON.parse(line!) as { reason: string }).reason;
}

// The cases are independent (each its own state directory, its own ports) and mostly wait out the max
// offset, so they run concurrently; each uses its own `expect`.
describe.concurrent("meridian time serve across kill -9", () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), "hlc-restart-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const c of children.splice(0)) c.kill("SIGKILL");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("waits out the persisted upper bound: every timestamp after the restart is above every one before", async ({ expect }) => {
    const dir = seeded(tempDir());
    const first = await serve(dir);
    expect(waitReason(first)).toMatch(/persisted HLC upper bound .*: waiting/);
    const before = await issueAhead(first);
    await kill9(first);
    const second = await serve(dir);
    expect(waitReason(second)).toMatch(/persisted HLC upper bound .*hlc-upper-bound\.json/);
    const after = [await stamp(second.url), await stamp(second.url)];
    expect(compare(minOf(after), maxOf(before))).toBeGreaterThan(0);
  }, 120_000);

  it("with the state directory emptied, waits out the max offset and stays monotonic", async ({ expect }) => {
    const dir = seeded(tempDir());
    const first = await serve(dir);
    const before = await issueAhead(first);
    await kill9(first);
    rmSync(join(dir, UPPER_BOUND_FILE));
    const second = await serve(dir);
    expect(waitReason(second)).toMatch(new RegExp(`no persisted HLC upper bound.*waiting out the max offset \\(${MAX_OFFSET_MS} ms\\)`));
    const after = [await stamp(second.url), await stamp(second.url)];
    expect(compare(minOf(after), maxOf(before))).toBeGreaterThan(0);
  }, 120_000);

  it("with a state file from an older snapshot, waits out the max offset and stays monotonic", async ({ expect }) => {
    const dir = seeded(tempDir());
    const snapshot = join(tempDir(), "snapshot.json");
    const first = await serve(dir);
    copyFileSync(join(dir, UPPER_BOUND_FILE), snapshot); // taken before the HLC was forwarded
    const before = await issueAhead(first);
    await kill9(first);
    copyFileSync(snapshot, join(dir, UPPER_BOUND_FILE));
    // A restore is stale once the clock has passed its bound (the snapshot's bound is < 1 s ahead).
    const staleBound = (JSON.parse(readFileSync(snapshot, "utf8")) as { upperBoundMicros: number }).upperBoundMicros;
    while (Date.now() * 1000 <= staleBound) await new Promise((r) => setTimeout(r, 50));
    const second = await serve(dir);
    expect(waitReason(second)).toMatch(/already passed .*restored snapshot.*waiting out the max offset/);
    const after = [await stamp(second.url), await stamp(second.url)];
    expect(compare(minOf(after), maxOf(before))).toBeGreaterThan(0);
  }, 120_000);

  it("refuses to start when the persisted bound is far ahead of the clock (the clock went backwards)", async ({ expect }) => {
    const dir = tempDir();
    writeFileSync(join(dir, UPPER_BOUND_FILE), JSON.stringify({ upperBoundMicros: (Date.now() + 3_600_000) * 1000 }));
    await expect(serve(dir)).rejects.toThrow(/exited 1 before ready: meridian time serve: failed to start: persisted HLC upper bound .* ahead of this clock.*went backwards/);
  }, 120_000);
});
