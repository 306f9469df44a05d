// `npm run bench -- clock`: TrueTime now() and HLC throughput per second, with the platform clocks they
// wrap (Date.now(), process.hrtime.bigint()) measured side by side in the same run as the baseline.
import { systemClock } from "../runtime/common/clock.js";
import { HybridClock } from "../runtime/clock/hlc.js";
import { preciseSystemClock } from "../runtime/clock/grandmaster.js";
import { TrueTime } from "../runtime/clock/truetime.js";
import { report, row } from "./lib/report.js";

const N = 1_000_000;
let sink = 0;

function once(fn: () => unknown, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (fn() === undefined) sink++;
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Calls per second of ours and the peer, interleaved over five rounds (best of each) so JIT warm-up and noise hit both alike. */
function side(ours: () => unknown, peer: () => unknown): [number, number] {
  once(ours, 200_000);
  once(peer, 200_000);
  let a = 0;
  let b = 0;
  for (let round = 0; round < 5; round++) {
    a = Math.max(a, once(ours, N));
    b = Math.max(b, once(peer, N));
  }
  return [a, b];
}

const hlc = new HybridClock({ clock: systemClock, maxOffsetMs: 500 });
const precise = new HybridClock({ clock: preciseSystemClock, maxOffsetMs: 500 });
const remote = new HybridClock({ clock: systemClock, maxOffsetMs: 500 });
const receiver = new HybridClock({ clock: systemClock, maxOffsetMs: 500 });
const tt = new TrueTime({ clock: systemClock });
tt.sync(0, 1);

const [ttNow, dateNow1] = side(
  () => tt.now(),
  () => Date.now(),
);
const [hlcNow, dateNow2] = side(
  () => hlc.now(),
  () => Date.now(),
);
const [hlcPreciseNow, perfNow] = side(
  () => precise.now(),
  () => preciseSystemClock.now(),
);
const [hlcReceive, hrtime] = side(
  () => {
    receiver.updateAndCheckMaxOffset(remote.now());
    return receiver.now();
  },
  () => process.hrtime.bigint(),
);

report("clock", [
  row("TrueTime now() → [earliest, latest]", "ops/s", ttNow, dateNow1, "peer: Date.now() it wraps; ε = sync ε + 200 ppm × age"),
  row("HLC now() (Date.now physical)", "ops/s", hlcNow, dateNow2, "peer: Date.now(); adds jump checks and the logical tick"),
  row("HLC now() (performance.now physical)", "ops/s", hlcPreciseNow, perfNow, "peer: performance.timeOrigin + performance.now()"),
  row("HLC receive: updateAndCheckMaxOffset + now()", "ops/s", hlcReceive, hrtime, "peer: process.hrtime.bigint(); two HLC reads + max-offset check per message"),
]);
if (sink < 0) console.log(sink);
