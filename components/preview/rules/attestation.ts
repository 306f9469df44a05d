/**
 * Attested SPIRE admission (components/pki/spire-attest.ts) only gates SVIDs if the agent can quote: its
 * `meridian_attest` plugin opens the node's TPM device, and a container runtime refuses `open` on a host device
 * unless the container's device cgroup allows it — which the kubelet arranges for a device a device plugin
 * allocated to the container, or which a privileged container has anyway. An agent with neither never attests
 * and no node it runs on gets an SVID, which an estate that meant to gate SVIDs on attestation would discover only
 * in the cluster. The rule reads the agent's own TCTI device from its plugin data, the extended resources it
 * requests, and the generic-device-plugin DaemonSets on the same cluster (their `--device` flags, JSON or YAML as
 * the plugin accepts, and `--domain`), and refuses the release unless one advertises that device under a resource
 * the agent requests, or the agent is privileged.
 */
import { parse } from "yaml";
import type { RecordedResource } from "../mock-runtime.js";
import { podTemplate } from "./kubernetes.js";
import { arr, at, inputs, num, obj, str, type PlanView, type ProviderRule } from "./rule.js";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const DAEMON_SET = "kubernetes:apps/v1:DaemonSet";
const ATTEST_PLUGIN = "meridian_attest";
/** squat/generic-device-plugin's default `--domain`. */
const DEFAULT_DOMAIN = "squat.ai";

/** A flag's values from an argument list: `--name value` and `--name=value`. */
function flagValues(args: string[], name: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === `--${name}` && i + 1 < args.length) out.push(args[i + 1]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  });
  return out;
}

/** The device paths a generic-device-plugin container advertises, by resource name. */
function advertised(container: Record<string, unknown>): Map<string, Set<string>> {
  const args = [...arr(container["command"]), ...arr(container["args"])].map(str).filter((a): a is string => a !== undefined);
  const domain = flagValues(args, "domain").at(-1) ?? DEFAULT_DOMAIN;
  const out = new Map<string, Set<string>>();
  for (const raw of flagValues(args, "device")) {
    let spec: unknown;
    try {
      spec = parse(raw); // JSON is YAML; the plugin reads either
    } catch {
      continue;
    }
    const name = str(obj(spec)["name"])?.trim();
    if (!name) continue;
    const paths = arr(obj(spec)["groups"]).flatMap((g) => arr(obj(g)["paths"]).map((p) => str(obj(p)["path"])));
    out.set(`${domain}/${name}`, new Set(paths.filter((p): p is string => p !== undefined)));
  }
  return out;
}

/** Resource → device paths over every generic-device-plugin DaemonSet on the release's cluster. */
function advertisedOn(plan: PlanView, provider: string | null): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const ds of plan.ofType(DAEMON_SET)) {
    if (ds.provider !== provider) continue;
    const containers = arr(at(podTemplate(ds)?.template, "spec.containers")).map(obj);
    for (const c of containers.filter((c) => str(c["image"])?.includes("generic-device-plugin"))) {
      for (const [resource, paths] of advertised(c)) out.set(resource, new Set([...(out.get(resource) ?? []), ...paths]));
    }
  }
  return out;
}

function check(r: RecordedResource, plan: PlanView): string[] {
  const p = inputs(r);
  if (str(p["chart"]) !== "spire") return [];
  const agent = obj(at(p, "values.spire-agent"));
  const attestor = at(agent, `customPlugins.nodeAttestor.${ATTEST_PLUGIN}`);
  if (attestor === undefined) return [];
  if (at(agent, "securityContext.privileged") === true) return [];
  const tcti = str(at(attestor, "plugin_data.tcti"));
  const device = tcti?.startsWith("device:") ? tcti.slice("device:".length) : undefined;
  if (device === undefined) return []; // a TCTI that opens no host device (a simulator) needs no device access
  const requested = Object.entries(obj(at(agent, "resources.limits")))
    .filter(([, n]) => (num(n) ?? Number(str(n) ?? 0)) >= 1)
    .map(([k]) => k);
  const offered = advertisedOn(plan, r.provider);
  if (requested.some((res) => offered.get(res)?.has(device))) return [];
  const why =
    requested.length === 0
      ? "requests no device resource"
      : `requests ${requested.join(", ")}, which no generic-device-plugin DaemonSet on this cluster advertises with ${device}${offered.size ? ` (advertised: ${[...offered.keys()].join(", ")})` : ""}`;
  return [
    `${r.name}: SPIRE's agent attests with ${ATTEST_PLUGIN} through ${tcti}, but ${why} and is not privileged: the container runtime's device cgroup ` +
      `refuses open(${device}), so no agent attests and no node gets an SVID; advertise the TPM with a device plugin and request its resource in spire-agent.resources.limits (components/pki/spire-tpm-device.ts)`,
  ];
}

export const attestationRules: ProviderRule[] = [
  {
    id: "spire-attested-agent-tpm-access",
    provider: "estate",
    types: [RELEASE],
    summary:
      "A spire release whose agents attest with meridian_attest through a host TPM device requests a device plugin's resource that a generic-device-plugin DaemonSet on the same cluster advertises with that device, or runs the agent privileged",
    source:
      "https://kubernetes.io/docs/concepts/extend-kubernetes/compute-storage-net/device-plugins/ (Allocate's DeviceSpec: the kubelet grants the container the device); https://github.com/squat/generic-device-plugin (--device, --domain, resource <domain>/<name>); https://docs.kernel.org/admin-guide/cgroup-v1/devices.html (device access is denied unless whitelisted)",
    check,
  },
];
