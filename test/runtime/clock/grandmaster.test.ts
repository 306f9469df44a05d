// The grandmaster end to end: `meridian time grandmaster` serving NTP to the real chronyd, which must
// report the injected offset within 1 ms; the admin API's drills; and NTP packet handling.
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MERIDIAN_BIN, REPO_ROOT, runCli } from "../../cli.js";
import { Grandmaster } from "../../../runtime/clock/grandmaster.js";
import { grandmasterService } from "../../../runtime/clock/grandmaster-service.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { clientRequest, decode, encode, fromNtpTimestamp, toNtpTimestamp } from "../../../runtime/clock/ntp/packet.js";

const CHRONYD = "/usr/sbin/chronyd";
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill("SIGTERM")));

/** Start the CLI grandmaster on an ephemeral port; resolves with the NTP port it printed. */
function startGrandmaster(args: string[]): Promise<number> {
  const child = spawn(process.execPath, [MERIDIAN_BIN, "time", "grandmaster", "--port", "0", ...args], { cwd: REPO_ROOT });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /udp:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => reject(new Error(`grandmaster exited ${code}: ${out}`)));
  });
}

/**
 * chronyd -Q: query the server without touching the clock; resolves with "System clock wrong by X seconds",
 * or null when chronyd found no usable sample ("No suitable source"). `minpoll -2` only makes iburst send
 * its four requests 0.25 s apart instead of 2 s.
 */
function chronydOffsetSeconds(port: number): Promise<number | null> {
  const child = spawn(CHRONYD, ["-Q", "-f", "/dev/null", "-u", "root", `server 127.0.0.1 port ${port} iburst minpoll -2 maxpoll -2`]);
  children.push(child);
  let text = "";
  child.stdout.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr.on("data", (d: Buffer) => (text += d.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      const m = /System clock wrong by (-?[\d.]+) seconds/.exec(text);
      if (m) resolve(Number(m[1]));
      else if (/No suitable source/.test(text)) resolve(null);
      else reject(new Error(`chronyd did not report an offset (exit ${code}):\n${text}`));
    });
  });
}

/**
 * The median of three chronyd measurements. The grandmaster stamps receive/transmit in JavaScript, so on a
 * loaded two-core machine an occasional sample carries a few ms of scheduling delay as path asymmetry;
 * one such query must not decide the test, three independent ones voting do.
 */
async function chronydMedianOffsetSeconds(port: number): Promise<number> {
  const got: number[] = [];
  for (let attempt = 0; attempt < 8 && got.length < 3; attempt++) {
    const x = await chronydOffsetSeconds(port);
    if (x !== null) got.push(x);
  }
  if (got.length < 3) throw new Error(`chronyd measured only ${got.length} of 3 times`);
  return got.sort((a, b) => a - b)[1]!;
}

describe("meridian time grandmaster + chronyd", () => {
  it("chronyd -Q reports the clock wrong by the injected offset within 1 ms (plain and under a GPS-outage scenario)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meridian-gm-"));
    const outage = join(dir, "outage.yaml");
    writeFileSync(outage, "events:\n  - { atSeconds: 0, gps: outage, durationSeconds: 3600 }\n");
    const runs: [number, string[]][] = [
      [250, []],
      [-123.4, ["--scenario", outage]],
    ];
    // One grandmaster at a time, so the two cores are not shared between them.
    const results: (readonly [number, number])[] = [];
    for (const [offsetMs, extra] of runs) {
      const port = await startGrandmaster(["--offset-ms", String(offsetMs), ...extra]);
      results.push([offsetMs, await chronydMedianOffsetSeconds(port)] as const);
    }
    for (const [offsetMs, wrongBy] of results) expect(Math.abs(wrongBy * 1000 - offsetMs)).toBeLessThan(1);
  });

  it("names a bad scenario file and bad flags (exit 2)", () => {
    const dir = mkdtempSync(join(tmpdir(), "meridian-gm-"));
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "events:\n  - { atSeconds: -1, gps: spoofing }\n");
    const r = runCli(["time", "grandmaster", "--port", "0", "--scenario", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/events\.0\.atSeconds/);
    expect(r.stderr).toMatch(/offsetMs/);
    expect(runCli(["time", "grandmaster", "--port", "70000"]).stderr).toMatch(/--port 70000: expected an integer from 0 to 65535/);
    expect(runCli(["time", "grandmaster", "--port", "0", "--scenario", join(dir, "missing.yaml")]).stderr).toMatch(/cannot read \(ENOENT\)/);
  });
});

describe("Grandmaster (in process)", () => {
  // An answer is waited for up to `waitMs` (a loaded machine may take long); junk is judged unanswered after it.
  const client = (gm: Grandmaster, port: number, packet: Buffer, waitMs = 5000) =>
    new Promise<Buffer | null>((resolve) => {
      const sock = createSocket("udp4");
      const timer = setTimeout(() => (sock.close(), resolve(null)), waitMs);
      sock.on("message", (msg) => (clearTimeout(timer), sock.close(), resolve(msg)));
      sock.send(packet, port, "127.0.0.1");
      void gm;
    });

  it("answers a mode-3 request with mode 4, stratum 1, the origin echoed and ε as root dispersion; drops junk", async () => {
    const gm = new Grandmaster({ offsetMs: 5000 });
    const { ntp } = await gm.listen(0);
    try {
      const sent = Date.now();
      const transmit = toNtpTimestamp(sent);
      const request = clientRequest(transmit, 6);
      const reply = decode((await client(gm, ntp, encode(request)))!);
      const received = Date.now();
      expect(reply).toMatchObject({ mode: 4, version: 4, stratum: 1, leap: 0, origin: transmit, poll: 6 });
      expect(reply.referenceId.toString("ascii", 0, 3)).toBe("GPS");
      expect(reply.rootDispersionS).toBeLessThan(1e-3);
      // Its clock is ours shifted by the offset: the transmit time falls within the round trip, give or take the
      // ensemble's sub-millisecond correction and the calibrated clock's difference from Date.now() (5 ms).
      expect(fromNtpTimestamp(reply.transmit) - 5000).toBeGreaterThanOrEqual(sent - 5);
      expect(fromNtpTimestamp(reply.transmit) - 5000).toBeLessThanOrEqual(received + 5);
      expect(await client(gm, ntp, Buffer.from("short"), 1000)).toBeNull();
      expect(await client(gm, ntp, encode({ ...request, mode: 4 }), 1000)).toBeNull();
      expect(gm.ntp.stats).toMatchObject({ replies: 1, dropped: 2 });
    } finally {
      await gm.close();
    }
  });

  it("admin drills (operators only): a GPS outage puts the ensemble in holdover (refid ATOM); spoofing is outvoted; bad bodies are 400", async () => {
    const op = await localOperatorAuth(systemClock);
    const start = (source: "gps" | "cesium") => startService(grandmasterService, { source, ntp: { port: 0 }, server: { port: 0, auth: op.auth } }, { processMetrics: false });
    const served = await start("gps");
    const cesiumOnly = await start("cesium");
    try {
      const gm = served.parts.grandmaster;
      const app = served.app;
      const headers = { authorization: `Bearer ${await op.token()}` };
      const drill = (url: string, payload: Record<string, unknown>, h: Record<string, string> = headers) => app.inject({ method: "POST", url, payload, headers: h });
      expect((await drill("/drills/gps", { fault: "outage" }, {})).statusCode).toBe(401);
      const notOperator = { authorization: `Bearer ${await op.token({ scope: "meridian.reader" })}` };
      expect((await drill("/drills/gps", { fault: "outage" }, notOperator)).statusCode).toBe(403);
      expect(gm.state().referenceId).toBe("GPS");
      const outage = await drill("/drills/gps", { fault: "outage", durationSeconds: 600 });
      expect(outage.json()).toMatchObject({ holdover: true, synchronized: true });
      expect(gm.state().referenceId).toBe("ATOM");
      await drill("/drills/gps", { fault: "restore" });
      const spoof = await drill("/drills/gps", { fault: "spoofing", offsetMs: 3, durationSeconds: 60 });
      expect(spoof.json()).toMatchObject({ falsetickers: ["gps-a"] });
      const inflate = await drill("/drills/inflate", { epsilonMs: 4, durationSeconds: 60 });
      expect(inflate.json().epsilonMs).toBeGreaterThan(4);
      const bad = await drill("/drills/gps", { fault: "meteor" });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toBe("invalid body");
      const metrics = await app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).toMatch(/meridian_time_falsetickers\{service="grandmaster"\} 1/);
      expect((await app.inject({ method: "GET", url: "/status" })).json()).toMatchObject({ synchronized: true });
      expect(served.endpoints["ntp"]).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);
      expect((await cesiumOnly.app.inject({ method: "POST", url: "/drills/gps", payload: { fault: "outage" }, headers })).statusCode).toBe(409);
    } finally {
      await served.close();
      await cesiumOnly.close();
    }
  });
});
