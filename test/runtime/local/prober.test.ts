// The local GSLB's prober: a round's result carries when the round started, so a drill can tell a round that
// measured a fault from one that began before it or ran on after its revert (under load the revert is late).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { trafficPolicy } from "../../../model/traffic/policy.js";
import { Prober } from "../../../runtime/local/prober.js";
import { specWithDns } from "../../model/traffic/fixtures.js";

let server: Server;
let url: string;
let delayMs = 0;
/** Paths that answer 503 (failing, but answering), and paths that never answer. */
const failing = new Set<string>();
const silent = new Set<string>();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (silent.has(req.url!)) return;
    res.statusCode = failing.has(req.url!) ? 503 : 200;
    setTimeout(() => res.end("ok"), delayMs);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("Prober", () => {
  it("records each round with the time it started, not the time it ended, and its slowest signal's round trip", async () => {
    const policy = trafficPolicy(specWithDns("local"));
    const region = policy.targets[0]!.id;
    const prober = new Prober({ policy, targets: { [region]: url } });
    expect(prober.lastRound(region)).toBeUndefined();
    delayMs = 300;
    const before = Date.now();
    await prober.probeAll();
    const after = Date.now();
    const round = prober.lastRound(region)!;
    expect(round.startedAtMs).toBeGreaterThanOrEqual(before);
    expect(round.startedAtMs).toBeLessThan(after - 250); // the start, 300 ms before the answer came
    expect(round.rttMs).toBeGreaterThanOrEqual(290);
    expect(prober.rttMs(region)).toBe(round.rttMs);
  });

  it("counts the rounds in a row a region answered on every signal: a failing status is an answer, silence past the timeout is not", async () => {
    const policy = trafficPolicy(specWithDns("local"));
    const region = policy.targets[0]!.id;
    const [first, second] = policy.signals;
    expect(second).toBeDefined();
    const prober = new Prober({ policy, targets: { [region]: url } });
    delayMs = 0;
    expect(prober.answeredStreak(region)).toBe(0);
    await prober.probeAll();
    failing.add(first!.path);
    await prober.probeAll();
    expect(prober.answeredStreak(region)).toBe(2);
    expect(prober.lastRound(region)!.unanswered).toBe(0);
    silent.add(second!.path);
    await prober.probeAll();
    expect(prober.lastRound(region)!.unanswered).toBe(1);
    expect(prober.answeredStreak(region)).toBe(0);
    silent.clear();
    failing.clear();
    await prober.probeAll();
    expect(prober.answeredStreak(region)).toBe(1);
  });
});
