/** One step function per algorithm, chosen by the limit's `algorithm`. */
import { gcraStep } from "./gcra.js";
import type { Limit, State, Step } from "./limit.js";
import { tokenBucketStep } from "./token-bucket.js";
import { fixedWindowStep, slidingLogStep, slidingWindowStep } from "./windows.js";

export function step(l: Limit, state: State | undefined, cost: number, now: number): Step {
  switch (l.algorithm) {
    case "gcra":
      return gcraStep(l, state, cost, now);
    case "token-bucket":
      return tokenBucketStep(l, state, cost, now);
    case "fixed-window":
      return fixedWindowStep(l, state, cost, now);
    case "sliding-log":
      return slidingLogStep(l, state, cost, now);
    case "sliding-window":
      return slidingWindowStep(l, state, cost, now);
  }
}
