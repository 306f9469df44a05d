// One map service per --data directory: the file store takes the directory lock (common/dir-lock.ts) before it
// reads anything. A second service — in this process or another — is refused naming the directory (after waiting
// lockWaitMs), and the lock is released on close, so the next service starts; a waiting one gets it then.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, serveCli } from "../../cli.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { MapClient } from "../../../runtime/vmap/index.js";
import { mapService } from "../../../runtime/vmap/services.js";

const tmp = mkdtempSync(join(tmpdir(), "vmap-lock-"));
let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
let token = "";

beforeAll(async () => {
  auth = await localOperatorAuth(systemClock);
  token = await auth.token({ scope: "meridian.vmap.write" });
});
afterAll(() => {
  killServers();
  rmSync(tmp, { recursive: true, force: true });
});

const cfg = (dir: string, lockWaitMs: number) => ({ maps: ["m"], store: { dir, lockWaitMs }, writers: { m: { scope: "meridian.vmap.write" } }, server: { port: 0, auth: auth.auth } });
const start = (dir: string, lockWaitMs = 0) => startService(mapService, cfg(dir, lockWaitMs), { clock: systemClock, processMetrics: false });
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("file map store directory lock", () => {
  it("refuses a second service on the directory, naming it, and lets the next one in once the first closes", { timeout: 60_000 }, async () => {
    const dir = join(tmp, "inproc");
    const first = await start(dir);
    await new MapClient(first.url, { headers: { authorization: `Bearer ${token}` } }).write("m", [["acct:1", Buffer.from("1")]]);
    await expect(start(dir)).rejects.toThrow(new RegExp(`another map service holds ${escape(dir)} .*in use by this process`));
    const waiting = start(dir, 60_000); // waits for the lock instead of interleaving with the first
    await first.close();
    const second = await waiting;
    expect(existsSync(join(dir, "vmap.lock"))).toBe(true); // the waiting service has it now
    expect((await new MapClient(second.url).root("m")).revision).toBe(1);
    await second.close();
    expect(existsSync(join(dir, "vmap.lock"))).toBe(false);
  });

  it("refuses a service while another process (`meridian map serve --data`) holds the directory, and starts once it exits", { timeout: 120_000 }, async () => {
    const dir = join(tmp, "child");
    const config = join(tmp, "child.json");
    writeFileSync(config, JSON.stringify({ ...cfg(dir, 0), server: { port: 0, auth: auth.auth, log: { level: "warn" } } }));
    const child = await serveCli(["map", "serve", "--config", config]);
    await expect(start(dir)).rejects.toThrow(new RegExp(`another map service holds ${escape(dir)} .*\\(pid ${child.child.pid}\\)`));
    // A second process is refused too, and exits saying so.
    await expect(serveCli(["map", "serve", "--config", config])).rejects.toThrow(new RegExp(`another map service holds ${escape(dir)}`));
    child.child.kill("SIGTERM");
    await new Promise((r) => child.child.once("exit", r));
    expect(existsSync(join(dir, "vmap.lock"))).toBe(false); // released on a clean stop
    const after = await start(dir);
    await after.close();
  });
});
