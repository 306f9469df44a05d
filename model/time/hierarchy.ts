/**
 * The time hierarchy: which clock sources each region's nodes use, decided once here and rendered by
 * components (chrony.conf, linuxptp) and the runtime. Pure.
 *
 * Per cloud (provider docs; see shared FACTS): AWS — the Amazon Time Sync Service at 169.254.169.123
 * (leap-smeared) and, with PTP enabled, the ENA PTP hardware clock /dev/ptp_ena (unsmeared UTC); GCP —
 * the metadata server's NTP (leap-smeared); Azure — the host's PTP hardware clock /dev/ptp_hyperv
 * (unsmeared). Every region also gets the configured independent references (NTS servers, GPS appliances),
 * the estate's grandmaster when it is enabled, and a datacenter PTP network (ptp4l + phc2sys over chrony's
 * SHM refclock) when one is configured.
 *
 * The grandmaster's GPS/atomic ensemble is simulated (§12: drills and `meridian local`), so it runs only in the
 * local environment. In a cloud region the grandmaster is a relay (`meridian time relay`, runtime/clock/relay.ts):
 * it polls the region's NTP upstreams of the estate's time scale (the cloud's time service, the configured NTS
 * servers and GPS appliances), votes with Marzullo's algorithm and serves the majority's time at stratum + 1, or
 * leap 3 / stratum 16 without a majority — which chrony ignores, so nodes keep following those same upstreams
 * directly. A region with no such upstream gets no relay, and one with one or two is refused: a relay's majority
 * outvotes a falseticker only among three or more. A region whose only source would be the grandmaster
 * would discipline its nodes against their own clocks: that is refused here, at stack load.
 *
 * Invariant: a region's sources are all smeared or all unsmeared — the estate's `leapSmear` decides — because
 * during a leap the two disagree by up to a second and chrony would see a falseticker or, worse, average them.
 * Sources of the wrong kind are listed as excluded with the reason; a region left with none is an error.
 */
import { NAMESPACES, type EstateSpec, type Region } from "../estate.js";
import type { Cloud } from "../config/vocabulary.js";
import type { PtpNetworkConfig, TimeReferenceConfig } from "../config/time.js";

export type Smear = "smeared" | "unsmeared";

export interface TimeSource {
  /** chrony directive: an NTP `server` or a `refclock` driver. */
  directive: "server" | "refclock";
  /** For servers the address; for refclocks `<driver> <parameter>`, e.g. `PHC /dev/ptp_ena`. */
  target: string;
  /** chrony options after the target, in chrony's spelling. */
  options: string[];
  smear: Smear;
  role: "cloud" | "phc" | "ptp-network" | "reference" | "grandmaster";
  /** Why the source is there, for the rendered comment. */
  note: string;
}

export interface GrandmasterPlan {
  name: string;
  namespace: string;
  /** In-cluster DNS name chrony resolves (its pods use ClusterFirstWithHostNet). */
  host: string;
  /** Service port (NTP) and the unprivileged container ports behind it. */
  port: 123;
  containerPort: number;
  adminPort: number;
  /** `simulator` (the GPS/atomic ensemble, local only) or `relay` (votes over `references`; every cloud region). */
  mode: "simulator" | "relay";
  source: "gps" | "rubidium" | "cesium";
  smear: Smear;
  replicas: number;
  /** The relay's references (its config's `references`): name and host:port. Empty for the simulator. */
  references: { name: string; server: string }[];
}

export interface RegionTimePlan {
  region: string;
  cloud: Cloud;
  smear: Smear;
  sources: TimeSource[];
  excluded: { source: TimeSource; reason: string }[];
  /** PHC device nodes the chrony pod must mount. */
  devices: string[];
  ptpNetwork: PtpNetworkConfig | null;
  grandmaster: GrandmasterPlan | null;
  /** chrony `maxdistance`: a source whose error bound exceeds half the HLC max offset is unfit, seconds. */
  maxDistanceSeconds: number;
  /** chrony `minsources`: with three or more sources, require two to agree before steering. */
  minSources: number;
  maxOffsetMs: number;
}

export class TimeHierarchyError extends Error {
  override name = "TimeHierarchyError";
}

export const GRANDMASTER = { name: "grandmaster", containerPort: 10123, adminPort: 10124 } as const;
/**
 * The node time agent (`meridian time agent`, runtime/clock/agent.ts) in every node's chrony pod, on the host
 * network: pods read chrony's tracking from it through a node-local Service (internalTrafficPolicy: Local).
 */
export const TIME_AGENT = { name: "time-agent", port: 10125 } as const;
/** Where every service's clock is measured, as deployed: its own node's agent. */
export const TIME_AGENT_ADDRESS = `${TIME_AGENT.name}.${NAMESPACES.time}.svc.cluster.local:${TIME_AGENT.port}`;
/** A relay outvotes one falseticker only with a majority of the rest: 2 of 3. */
const MIN_RELAY_REFERENCES = 3;
/** chrony's SHM refclock segment phc2sys writes to (`-M`), shared over the host IPC namespace. */
export const PTP_SHM_SEGMENT = 0;

/** The time service each cloud offers inside its network, with its leap-second behaviour. */
function cloudSources(cloud: Cloud, ptpEnabled: boolean): TimeSource[] {
  switch (cloud) {
    case "aws":
      return [
        {
          directive: "server",
          target: "169.254.169.123",
          options: ["prefer", "iburst", "minpoll", "4", "maxpoll", "4"],
          smear: "smeared",
          role: "cloud",
          note: "Amazon Time Sync Service (link-local, smears leap seconds)",
        },
        ...(ptpEnabled
          ? [
              {
                directive: "refclock",
                target: "PHC /dev/ptp_ena",
                options: ["poll", "0", "delay", "0.000010", "prefer"],
                smear: "unsmeared",
                role: "phc",
                note: "ENA PTP hardware clock (Nitro; unsmeared UTC)",
              } satisfies TimeSource,
            ]
          : []),
      ];
    case "gcp":
      return [{ directive: "server", target: "metadata.google.internal", options: ["iburst"], smear: "smeared", role: "cloud", note: "GCE metadata server NTP (Google smears leap seconds)" }];
    case "azure":
      return [
        {
          directive: "refclock",
          target: "PHC /dev/ptp_hyperv",
          options: ["poll", "3", "dpoll", "-2", "offset", "0", "stratum", "2"],
          smear: "unsmeared",
          role: "phc",
          note: "Hyper-V host PTP hardware clock (unsmeared)",
        },
      ];
  }
}

/** chrony `server` lines for the configured references that apply to this region. */
function referenceSources(references: readonly TimeReferenceConfig[], regionId: string): TimeSource[] {
  return references
    .filter((r) => r.regions === undefined || r.regions.includes(regionId))
    .map((r) => ({
      directive: "server",
      target: r.server,
      options: ["iburst", ...(r.nts ? ["nts"] : [])],
      smear: r.smear,
      role: "reference",
      note: `independent reference${r.nts ? ", NTS-authenticated" : ""} (${r.smear})`,
    }));
}

/**
 * The relay's references: the region's NTP upstreams of the estate's time scale (PHC refclocks are node devices
 * the relay's pod cannot read, and stay chrony's alone). The relay polls them over plain NTP on port 123; IPv6
 * literals are left to chrony (the relay's host:port syntax has no brackets).
 */
function relayReferences(sources: readonly TimeSource[]): { name: string; server: string }[] {
  const hosts = sources.filter((s) => s.directive === "server" && (s.role === "cloud" || s.role === "reference") && !s.target.includes(":")).map((s) => s.target);
  return [...new Set(hosts)].map((host) => ({ name: host.slice(0, 64), server: `${host}:123` }));
}

/** What the grandmaster runs: the simulated ensemble only in `local` (drills, tests); a relay in every cloud environment. */
export function grandmasterMode(spec: Pick<EstateSpec, "environment">): GrandmasterPlan["mode"] {
  return spec.environment === "local" ? "simulator" : "relay";
}

export function regionTimePlan(spec: EstateSpec, region: Region): RegionTimePlan {
  const time = spec.time;
  const smear: Smear = time.leapSmear ? "smeared" : "unsmeared";
  const candidates: TimeSource[] = [...cloudSources(region.cloud, time.ptp.enabled)];
  const network = time.ptp.enabled ? (time.ptp.network ?? null) : null;
  if (network !== null) {
    candidates.push({
      directive: "refclock",
      target: `SHM ${PTP_SHM_SEGMENT}`,
      options: ["refid", "PTP", "poll", "0", "precision", network.timestamping === "hardware" ? "1e-7" : "1e-6", "delay", "0.0001"],
      smear: "unsmeared",
      role: "ptp-network",
      note: `datacenter PTP on ${network.interface} (domain ${network.domainNumber}) via ptp4l + phc2sys`,
    });
  }
  candidates.push(...referenceSources(time.references, region.id));
  const mode = grandmasterMode(spec);
  const references = mode === "relay" ? relayReferences(candidates.filter((s) => s.smear === smear)) : [];
  // A relay votes by majority of its configured references (runtime/clock/relay.ts), so with one or two it cannot
  // outvote a falseticker — it would follow it (one) or stop serving (two). Every environment gets the same rule:
  // a relay that votes needs three; with none to poll the region runs without a grandmaster (below).
  if (time.grandmaster.enabled && mode === "relay" && references.length > 0 && references.length < MIN_RELAY_REFERENCES) {
    throw new TimeHierarchyError(
      `region ${region.id} (${region.cloud}): its grandmaster relay would vote over ${references.length} ${smear} reference${references.length === 1 ? "" : "s"} ` +
        `(${references.map((r) => r.name).join(", ")}), and Marzullo's majority needs at least ${MIN_RELAY_REFERENCES} to outvote one falseticker: ` +
        `add independent ${smear} references under meridian:time.references (NTS servers, GPS appliances) or set meridian:time.grandmaster.enabled to false`,
    );
  }
  // A relay with nothing to vote over would serve nothing: such a region runs without a grandmaster.
  const grandmaster: GrandmasterPlan | null =
    time.grandmaster.enabled && (mode === "simulator" || references.length > 0)
      ? {
          name: GRANDMASTER.name,
          namespace: NAMESPACES.time,
          host: `${GRANDMASTER.name}.${NAMESPACES.time}.svc.cluster.local`,
          port: 123,
          containerPort: GRANDMASTER.containerPort,
          adminPort: GRANDMASTER.adminPort,
          mode,
          source: time.grandmaster.source,
          smear,
          replicas: time.grandmaster.replicas,
          references,
        }
      : null;
  if (grandmaster !== null) {
    candidates.push({
      directive: "server",
      target: grandmaster.host,
      options: ["iburst", "minpoll", "4", "maxpoll", "6"],
      smear,
      role: "grandmaster",
      note:
        grandmaster.mode === "relay"
          ? `Meridian grandmaster relay (Marzullo vote over ${references.map((r) => r.name).join(", ")}; stratum 16 without a majority, which chrony ignores)`
          : `Meridian grandmaster (simulated ${grandmaster.source} ensemble, stratum 1)`,
    });
  }
  const sources = candidates.filter((s) => s.smear === smear);
  const excluded = candidates
    .filter((s) => s.smear !== smear)
    .map((source) => ({ source, reason: `${source.smear} source in a ${smear} estate (meridian:time.leapSmear = ${time.leapSmear}); never mix smeared and unsmeared time` }));
  // Outside local the grandmaster is a relay over the region's own upstreams, never a source of its own.
  if (spec.environment !== "local" && sources.every((s) => s.role === "grandmaster")) {
    const smearedCloud = cloudSources(region.cloud, time.ptp.enabled).some((s) => s.smear !== smear);
    throw new TimeHierarchyError(
      `region ${region.id} (${region.cloud}) has no independent ${smear} time source (the simulated grandmaster runs only in local; a relay needs references to vote over): ` +
        `add an independent ${smear} reference under meridian:time.references (an NTS server, or a GPS appliance on the region's network)` +
        `${smearedCloud ? ` or set meridian:time.leapSmear to ${!time.leapSmear} to use the cloud's own time service` : ""}`,
    );
  }
  if (sources.length === 0) {
    throw new TimeHierarchyError(
      `region ${region.id} (${region.cloud}) has no ${smear} time source: ${excluded.map((e) => e.source.target).join(", ")} ${excluded.length === 1 ? "is" : "are"} ${excluded[0]?.source.smear ?? "unavailable"}; ` +
        `enable meridian:time.grandmaster or set meridian:time.leapSmear to ${!time.leapSmear}`,
    );
  }
  return {
    region: region.id,
    cloud: region.cloud,
    smear,
    sources,
    excluded,
    devices: sources.filter((s) => s.directive === "refclock" && s.target.startsWith("PHC ")).map((s) => s.target.slice(4)),
    ptpNetwork: network,
    grandmaster,
    maxDistanceSeconds: time.maxOffsetMs / 2 / 1000,
    minSources: sources.length >= 3 ? 2 : 1,
    maxOffsetMs: time.maxOffsetMs,
  };
}

/** The whole estate's hierarchy, region by region (throws TimeHierarchyError naming every bad region). */
export function timeHierarchy(spec: EstateSpec): RegionTimePlan[] {
  const plans: RegionTimePlan[] = [];
  const ids = new Set(spec.regions.map((r) => r.id));
  const problems = spec.time.references.flatMap((r) =>
    (r.regions ?? []).filter((id) => !ids.has(id)).map((id) => `reference ${r.server} names region ${id}, which is not one of this stack's regions (${[...ids].join(", ")})`),
  );
  for (const region of spec.regions) {
    try {
      plans.push(regionTimePlan(spec, region));
    } catch (e) {
      if (!(e instanceof TimeHierarchyError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length > 0) throw new TimeHierarchyError(problems.join("\n"));
  return plans;
}
