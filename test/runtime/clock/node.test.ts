// A node measuring its offset from the real grandmaster over NTP, feeding TrueTime and the skew monitor,
// and the HLC over HTTP (fastify) with its refusals.
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { installErrorHandler } from "../../../runtime/common/http.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { Grandmaster, preciseSystemClock } from "../../../runtime/clock/grandmaster.js";
import { clockRoutes, installHlc } from "../../../runtime/clock/http.js";
import { ClockNode } from "../../../runtime/clock/node.js";
import { ntpQuery, NtpQueryError } from "../../../runtime/clock/ntp/client.js";
import { NtpServer } from "../../../runtime/clock/ntp/server.js";
import { HTTP_HEADER } from "../../../runtime/clock/propagation.js";
import { compare, format, parse } from "../../../runtime/clock/timestamp.js";

describe("ntpQuery + ClockNode against the grandmaster", () => {
  it("measures the grandmaster's injected offset; TrueTime's interval then contains the grandmaster's time", async () => {
    const gm = new Grandmaster({ offsetMs: 100 });
    const { ntp } = await gm.listen(0);
    try {
      const m = await ntpQuery("127.0.0.1", ntp, { clock: preciseSystemClock });
      // NTP's own guarantee: the true offset lies within the measurement's error bound (≥ half the round trip).
      expect(Math.abs(m.offsetMs - 100)).toBeLessThanOrEqual(m.errorBoundMs + 0.01);
      expect(m).toMatchObject({ stratum: 1, leap: 0, referenceId: "GPS" });
      expect(m.errorBoundMs).toBeGreaterThanOrEqual(m.delayMs / 2);
      const node = new ClockNode({ clock: preciseSystemClock, maxOffsetMs: 500 });
      node.measure(m.offsetMs, m.errorBoundMs);
      const tt = node.truetime.now();
      const reference = gm.sample().timeMs;
      const tt2 = node.truetime.now();
      expect(tt.earliest).toBeLessThanOrEqual(reference);
      expect(reference).toBeLessThanOrEqual(tt2.latest);
      expect(node.status().skew.state).toBe("healthy");
    } finally {
      await gm.close();
    }
  });

  it("a node whose clock is 600 ms off the grandmaster (past max offset) freezes its strong path", async () => {
    const gm = new Grandmaster({ offsetMs: -600 });
    const { ntp } = await gm.listen(0);
    try {
      const node = new ClockNode({ clock: preciseSystemClock, maxOffsetMs: 500 });
      const m = await ntpQuery("127.0.0.1", ntp, { clock: preciseSystemClock });
      node.measure(m.offsetMs, m.errorBoundMs);
      expect(node.status().skew).toMatchObject({ state: "frozen", allowsStrong: false });
      expect(await node.metrics.registry.metrics()).toMatch(/meridian_clock_skew_state 2/);
    } finally {
      await gm.close();
    }
  });

  it("refuses an unsynchronised server (leap 3, stratum 16) and times out on silence", async () => {
    const server = new NtpServer({
      now: () => preciseSystemClock.now(),
      state: () => ({ leap: 0, synchronized: false, referenceId: "GPS", referenceMs: 0, rootDispersionS: 0, precision: -20 }),
    });
    const port = await server.listen(0);
    try {
      await expect(ntpQuery("127.0.0.1", port, { clock: preciseSystemClock })).rejects.toThrow(/unsynchronised \(leap 3, stratum 16\)/);
    } finally {
      await server.close();
    }
    const quiet = new NtpServer({ now: () => 0, state: () => ({ leap: 0, synchronized: true, referenceId: "GPS", referenceMs: 0, rootDispersionS: 0, precision: -20 }) });
    const quietPort = await quiet.listen(0);
    await quiet.close(); // the port is now closed: nothing answers
    await expect(ntpQuery("127.0.0.1", quietPort, { clock: preciseSystemClock, timeoutMs: 200 })).rejects.toThrow(NtpQueryError);
  });
});

describe("HLC over HTTP", () => {
  const build = () => {
    const clock = new ManualClock(1_700_000_000_000);
    const node = new ClockNode({ clock, maxOffsetMs: 500 });
    const app = Fastify();
    installErrorHandler(app);
    installHlc(app, node);
    clockRoutes(app, node);
    app.get("/ping", async () => ({ ok: true }));
    return { app, node, clock };
  };

  it("forwards the HLC from the request and stamps the response after it", async () => {
    const { app } = build();
    const sent = { wall: (1_700_000_000_000 + 200) * 1000, logical: 7 };
    const r = await app.inject({ method: "GET", url: "/ping", headers: { [HTTP_HEADER]: format(sent) } });
    expect(r.statusCode).toBe(200);
    expect(compare(parse(String(r.headers[HTTP_HEADER])), sent)).toBeGreaterThan(0);
  });

  it("answers 400 for a malformed header and 409 beyond max offset, counting the rejection", async () => {
    const { app, node } = build();
    const bad = await app.inject({ method: "GET", url: "/ping", headers: { [HTTP_HEADER]: "tomorrow" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: "invalid HLC timestamp" });
    const before = node.hlc.peek();
    const far = await app.inject({ method: "GET", url: "/ping", headers: { [HTTP_HEADER]: format({ wall: (1_700_000_000_000 + 900) * 1000, logical: 0 }) } });
    expect(far.statusCode).toBe(409);
    expect(far.json().detail).toMatch(/beyond the max offset/);
    expect(compare(node.hlc.peek(), before)).toBeGreaterThanOrEqual(0);
    expect(node.hlc.peek().wall).toBeLessThan((1_700_000_000_000 + 900) * 1000);
    expect(await node.metrics.registry.metrics()).toMatch(/meridian_hlc_untrustworthy_remote_total 1/);
  });

  it("GET /v1/time and /v1/time/skew report the state a drill drives", async () => {
    const { app, node, clock } = build();
    expect((await app.inject({ method: "GET", url: "/v1/time" })).json()).toMatchObject({ truetime: null, skew: { state: "healthy" } });
    node.measure(-420, 1);
    clock.advance(1000);
    node.measure(0, 1);
    const skew = (await app.inject({ method: "GET", url: "/v1/time/skew" })).json();
    expect(skew.state).toBe("recovering");
    expect(skew.events.map((e: { to: string }) => e.to)).toEqual(["frozen", "recovering"]);
    const time = (await app.inject({ method: "GET", url: "/v1/time" })).json();
    expect(time.epsilonMs).toBe(1);
  });
});

describe("ClockNode clock-jump metrics", () => {
  it("counts backward jumps always and forward jumps (read by the ticker) while checking, on the registry /metrics serves", async () => {
    const m = new ManualClock(1_000_000);
    const node = new ClockNode({ clock: m, maxOffsetMs: 500, hlc: { forwardJumpCheck: true, onFatal: () => undefined } });
    node.hlc.now();
    m.advance(-100); // > max offset / 10 back
    node.hlc.now();
    m.advance(400); // ≥ tolerated (250 ms) forward, read first by the ticker
    node.hlc.tick();
    const text = await node.metrics.registry.metrics();
    expect(text).toMatch(/^meridian_hlc_backward_clock_jumps_total 1$/m);
    expect(text).toMatch(/^meridian_hlc_forward_clock_jumps_total 1$/m);
  });
});
