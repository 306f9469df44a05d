// Specs for the time tests: the real stack files, with the time block varied.
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { listStacks, loadStack } from "../../../stacks/load.js";
import { timeSchema } from "../../../model/config/time.js";

export const STACKS = listStacks();

export function specFor(stack: string, time?: Record<string, unknown>): EstateSpec {
  const spec = buildEstateSpec(stack, loadStack(stack));
  // A variant keeps the stack's independent references unless it sets its own: they are what lets a
  // cloud region run unsmeared at all.
  return time === undefined ? spec : { ...spec, time: timeSchema.parse({ references: spec.time.references, ...time }) };
}

/** The variations every rendering must survive. */
export const TIME_VARIANTS: Record<string, Record<string, unknown> | undefined> = {
  "as configured": undefined,
  unsmeared: { leapSmear: false },
  smeared: { leapSmear: true },
  "unsmeared + PTP": { leapSmear: false, ptp: true },
  "PTP network, software timestamps": { ptp: { network: { interface: "eth1", transport: "UDPv4", timestamping: "software", domainNumber: 24 } } },
  "no grandmaster, smeared": { leapSmear: true, grandmaster: { enabled: false } },
};
