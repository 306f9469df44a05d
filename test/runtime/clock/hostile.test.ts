// The hostile-input suite against the time services on the kit: the region clock service and the grandmaster.
import { afterAll, beforeAll } from "vitest";
import { clockService, grandmasterService } from "../../../runtime/clock/index.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { hostileHttpSuite } from "../../hostile.js";

const fast = { headersMs: 500, requestMs: 1000 };
let clock: Awaited<ReturnType<typeof startClock>>;
let gm: Awaited<ReturnType<typeof startGm>>;
const startClock = async () =>
  startService(clockService, { region: "r1", maxOffsetMs: 250, server: { port: 0, timeouts: fast, auth: (await localOperatorAuth(systemClock)).auth } }, { processMetrics: false });
const startGm = async () => startService(grandmasterService, { ntp: { port: 0 }, server: { port: 0, timeouts: fast, auth: (await localOperatorAuth(systemClock)).auth } }, { processMetrics: false });

beforeAll(async () => {
  clock = await startClock();
  gm = await startGm();
});
afterAll(async () => {
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
