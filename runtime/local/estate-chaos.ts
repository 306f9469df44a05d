/**
 * The chaos toolkit wired to a local estate's controls: network faults go to the proxy in front of the
 * region, skew and degradations to the region process over the control plane. A region that restarts gets
 * the faults still in force set again before its proxy lets traffic in, so nobody sees it healthy while the
 * toolkit (and the dashboard) say it is degraded. A region that is down takes no call: its next process
 * starts with every signal passing and its spec's skew, and gets the faults then in force set on it.
 */
import { Chaos } from "./chaos.js";
import type { NetworkFault, RegionProxy } from "./proxy.js";

export interface EstateFaultControls {
  regionIds(): string[];
  services(): string[];
  proxy(region: string): RegionProxy;
  admin(region: string, path: string, body: unknown): Promise<unknown>;
  isRunning(region: string): boolean;
  setSkew(region: string, skewMs: number): Promise<void>;
  /** The skew each region started with (what a reverted skew fault goes back to). */
  baselineSkewMs(region: string): number;
  record(kind: "fault", region: string, detail: string): void;
}

export function estateChaos(c: EstateFaultControls): Chaos {
  return new Chaos({
    regionIds: c.regionIds,
    services: c.services,
    setNetworkFault: (region: string, fault: NetworkFault) => c.proxy(region).setFault(fault),
    setSkew: c.setSkew,
    setSignalFailing: async (region, service, failing) => {
      if (c.isRunning(region)) await c.admin(region, "/admin/signal", { service, failing });
    },
    baselineSkewMs: c.baselineSkewMs,
    record: c.record,
  });
}
