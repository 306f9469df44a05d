// The hostile-input suite against the time services on the kit: the region clock service, the simulated
// grandmaster and the grandmaster relay (voting over the simulated one as its reference).
import { afterAll, beforeAll } from "vitest";
import { clockService, grandmasterRelayService, grandmasterService } from "../../../runtime/clock/index.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { hostileHttpSuite } from "../../hostile.js";

const fast = { headersMs: 500, requestMs: 1000 };
let clock: Awaited<ReturnType<typeof startClock>>;
let gm: Awaited<ReturnType<typeof startGm>>;
let relay: Awaited<ReturnType<typeof startRelay>>;
const startClock = async () =>
  startService(clockService, { region: "r1", maxOffsetMs: 250, server: { port: 0, timeouts: fast, auth: (await localOperatorAuth(systemClock)).auth } }, { processMetrics: false });
const startGm = async () => startService(grandmasterService, { ntp: { port: 0 }, server: { port: 0, timeouts: fast, auth: (await localOperatorAuth(systemClock)).auth } }, { processMetrics: false });
const startRelay = (reference: string) =>
  startService(grandmasterRelayService, { references: [{ name: "gm", server: reference }], ntp: { port: 0 }, server: { port: 0, timeouts: fast } }, { processMetrics: false });

beforeAll(async () => {
  clock = await startClock();
  gm = await startGm();
  relay = await startRelay(`127.0.0.1:${new URL(gm.endpoints.ntp!).port}`);
});
afterAll(async () => {
  await relay?.close();
  await clock?.close();
  await gm?.close();
});

hostileHttpSuite("meridian time serve", () => ({
  url: clock.url,
  routes: [
    { method: "GET", path: "/v1/time" },
    { method: "GET", path: "/v1/time/skew" },
    { method: "POST", path: "/v1/time/translate", json: true },
    { method: "POST", path: "/v1/time/reset", json: true },
  ],
  protectedRoutes: [{ method: "POST", path: "/v1/time/reset" }],
  state: async () => ({ skew: clock.parts.node.skew.state, events: clock.parts.node.skew.events().length, epoch: clock.parts.node.epoch.epoch }),
  slowlorisWaitMs: 4000,
}));

hostileHttpSuite("meridian time grandmaster", () => ({
  url: gm.url,
  routes: [
    { method: "GET", path: "/status" },
    { method: "POST", path: "/drills/gps", json: true },
    { method: "POST", path: "/drills/inflate", json: true },
  ],
  protectedRoutes: [
    { method: "POST", path: "/drills/gps" },
    { method: "POST", path: "/drills/inflate" },
  ],
  state: async () => {
    const s = gm.parts.grandmaster.state();
    return { referenceId: s.referenceId, synchronized: s.synchronized, falsetickers: gm.parts.grandmaster.sample().falsetickers };
  },
  slowlorisWaitMs: 4000,
}));

hostileHttpSuite("meridian time relay", () => ({
  url: relay.url,
  routes: [{ method: "GET", path: "/status" }],
  state: async () => {
    const v = relay.parts.relay.current;
    return { synchronized: v.synchronized, stratum: v.stratum, truechimers: v.truechimers };
  },
  slowlorisWaitMs: 4000,
}));
