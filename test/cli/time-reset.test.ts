// The HLC reset protocol end to end (real `time serve` processes; `time reset` in process): a clock service whose persisted HLC bound is an hour
// ahead of its clock (its HLC ran ahead; the clock is right) refuses to start; `meridian time reset` writes
// the next epoch; the service then starts in epoch 1, tells every client so, answers an epoch-0 token with a
// clear "hlc reset", and keeps epoch 1 across kill -9. Hostile arguments are refused with exit 2.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UPPER_BOUND_FILE } from "../../runtime/clock/index.js";
import { killServers, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";

const dirs: string[] = [];
afterAll(() => {
  killServers();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const serve = (dir: string) => serveCli(["time", "serve", "--port", "0", "--region", "r1", "--max-offset-ms", "250", "--data-dir", dir]);

describe("meridian time reset", () => {
  it("lets a clock whose HLC ran an hour ahead start again in a new epoch that clients are told about and that survives kill -9", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hlc-cli-reset-"));
    dirs.push(dir);
    const ahead = (Date.now() + 3_600_000) * 1000;
    writeFileSync(join(dir, UPPER_BOUND_FILE), JSON.stringify({ upperBoundMicros: ahead }));
    // An HLC timestamp (and token) the old run may have issued: epoch 0, an hour ahead.
    const oldToken = `${ahead - 1000}.0`;
    await expect(serve(dir)).rejects.toThrow(/went backwards since the last run, or the HLC ran ahead of it.*meridian time reset --data-dir/);

    const r = await runCliInProcess(["time", "reset", "--data-dir", dir, "--reason", "HLC ran an hour ahead after an NTP step"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ previousEpoch: 0, epoch: 1, reason: "HLC ran an hour ahead after an NTP step", previousUpperBound: new Date(ahead / 1000).toISOString() });
    expect(JSON.parse(readFileSync(join(dir, UPPER_BOUND_FILE), "utf8"))).toMatchObject({ epoch: 1, lastReset: { epoch: 1, reason: "HLC ran an hour ahead after an NTP step" } });

    let s = await serve(dir);
    let res = await fetch(`${s.url}/v1/time`);
    expect(res.headers.get("x-meridian-hlc-epoch")).toBe("1");
    expect(Number(res.headers.get("x-meridian-hlc")!.split(".")[0])).toBeLessThan(ahead);
    expect((await res.json()) as { epoch: number; lastReset: { reason: string } }).toMatchObject({ epoch: 1, lastReset: { reason: "HLC ran an hour ahead after an NTP step" } });
    res = await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-consistency": oldToken } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "hlc reset", detail: expect.stringMatching(/from HLC epoch 0; this clock was reset to epoch 1 since .*HLC ran an hour ahead after an NTP step/) });
    // The old epoch's HLC, named as such, is refused (and not applied) instead of being compared.
    res = await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-hlc": `${oldToken}@0` } });
    expect(res.status).toBe(409);
    expect(Number(res.headers.get("x-meridian-hlc")!.split(".")[0])).toBeLessThan(ahead);

    const exited = new Promise((resolve) => s.child.once("exit", resolve));
    s.child.kill("SIGKILL");
    await exited;
    s = await serve(dir);
    res = await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-hlc-epoch": "0" } });
    expect(res.status).toBe(409);
    expect(res.headers.get("x-meridian-hlc-epoch")).toBe("1");
    expect(((await res.json()) as { error: string }).error).toBe("hlc reset");
  }, 90_000);

  it("refuses bad arguments and an unreadable state file, changing nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hlc-cli-reset-"));
    dirs.push(dir);
    expect(await runCliInProcess(["time", "reset", "--data-dir", join(dir, "missing"), "--reason", "x"])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/--data-dir .*missing: no such directory/),
    });
    expect(await runCliInProcess(["time", "reset", "--data-dir", dir, "--reason", "   "])).toMatchObject({ status: 2, stderr: expect.stringMatching(/--reason: give 1 to 500 characters/) });
    expect(await runCliInProcess(["time", "reset", "--data-dir", dir])).toMatchObject({ status: 2, stderr: expect.stringMatching(/required option '--reason <text>'/) });
    writeFileSync(join(dir, UPPER_BOUND_FILE), '{"upperBound');
    expect(await runCliInProcess(["time", "reset", "--data-dir", dir, "--reason", "x"])).toMatchObject({ status: 2, stderr: expect.stringMatching(/unreadable \(not JSON\): its epoch is unknown/) });
    expect(readFileSync(join(dir, UPPER_BOUND_FILE), "utf8")).toBe('{"upperBound');
  });
});
