/**
 * The loopback resolver of `meridian local`: it is a process, not a cloud resource, so rendering it
 * creates nothing — the resolver answers from `answerSet` over the same policy and live health checks.
 * The zone handle names the loopback nameserver so the hierarchy's delegation output stays complete.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DnsBackend, TrafficRender, ZoneHandle } from "./backend.js";

const LOCAL_NAMESERVER = "127.0.0.1";

export const local: DnsBackend = {
  zone(_parent, policy): ZoneHandle {
    return { zoneRef: pulumi.output(policy.apex), nameServers: pulumi.output([LOCAL_NAMESERVER]) };
  },
  record() {
    // Served from the spec's records by the local resolver.
  },
  traffic(_parent, _zone, policy): TrafficRender {
    return { checks: Object.fromEntries(policy.targets.map((t) => [t.id, []])), entryPoint: pulumi.output(policy.fqdn) };
  },
};
