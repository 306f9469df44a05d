/**
 * Time fabric (§12): the HLC max offset the runtime enforces, the skew thresholds that freeze the strong
 * path, PTP (hypervisor PHCs, and a datacenter PTP network served by linuxptp), the simulated
 * grandmaster, and whether the estate runs leap-smeared time. The time hierarchy (model/time) turns
 * this into per-region sources; smeared and unsmeared sources are never mixed.
 */
import { z } from "zod";
import { fraction, positive } from "./vocabulary.js";

const ptpNetworkSchema = z
  .object({
    /** The NIC ptp4l runs on (its PHC is what phc2sys hands to chrony). */
    interface: z
      .string()
      .regex(/^[a-zA-Z0-9_.:-]{1,15}$/, "expected a network interface name such as eth0")
      .default("eth0"),
    domainNumber: z.number().int().min(0).max(127).default(0),
    /** `-2` (IEEE 802.3) or UDPv4, as ptp4l spells them. */
    transport: z.enum(["L2", "UDPv4"]).default("L2"),
    /** Hardware timestamping needs NIC support; software works anywhere (µs instead of ns). */
    timestamping: z.enum(["hardware", "software"]).default("hardware"),
  })
  .strict();

const ptpSchema = z
  .union(
    [
      z.boolean().transform((enabled) => ({ enabled, network: undefined })),
      z
        .object({
          /** Use hypervisor PTP hardware clocks (AWS ENA /dev/ptp_ena) as chrony refclocks. */
          enabled: z.boolean().default(true),
          /** A datacenter PTP network: run linuxptp (ptp4l + phc2sys) and feed chrony over SHM. */
          network: ptpNetworkSchema.optional(),
        })
        .strict(),
    ],
    { error: "expected true, false, or { enabled, network: { interface, domainNumber, transport, timestamping } }" },
  )
  .prefault(false);

/**
 * An independent upstream a region's nodes reach directly: a public NTS server (national labs and Netnod
 * serve UTC with leap indicators, unsmeared) or the NTP address of a GPS/PTP appliance in a datacenter.
 * The simulated grandmaster is not one: a cloud region needs a reference outside the estate.
 */
const referenceSchema = z
  .object({
    server: z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$|^[0-9a-fA-F:]{2,39}$/, "expected a host name or an IP address"),
    /** Authenticate with NTS (RFC 8915): plain NTP from across the internet can be steered by anyone on the path. */
    nts: z.boolean().default(true),
    /** The time scale it serves; sources of the other kind are excluded like every other source. */
    smear: z.enum(["smeared", "unsmeared"]).default("unsmeared"),
    /** Only these regions use it (an appliance serves its own datacenter); default every region. */
    regions: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

export const timeSchema = z
  .object({
    /** CockroachDB "max offset": remote HLC timestamps further ahead are rejected. */
    maxOffsetMs: positive.default(500),
    ptp: ptpSchema,
    grandmaster: z
      .object({
        enabled: z.boolean().default(true),
        source: z.enum(["gps", "rubidium", "cesium"]).default("gps"),
        replicas: z.number().int().min(1).max(5).default(2),
      })
      .strict()
      .prefault({}),
    /** Independent references (NTS servers, GPS appliances); every cloud region needs one besides the grandmaster. */
    references: z.array(referenceSchema).default([]),
    /** Run the estate on leap-smeared time (Google/AWS NTP style) instead of UTC with leap indicators. */
    leapSmear: z.boolean().default(false),
    /** Skew-threshold responses, as fractions of max offset (CockroachDB stops a node at 80%). */
    skew: z
      .object({
        degradeFraction: fraction.default(0.5),
        freezeFraction: fraction.default(0.8),
        recoveryHoldSeconds: positive.default(30),
      })
      .strict()
      .prefault({})
      .superRefine((s, ctx) => {
        if (s.degradeFraction >= s.freezeFraction) {
          ctx.addIssue({ code: "custom", path: ["degradeFraction"], input: s.degradeFraction, message: `must be below freezeFraction (${s.freezeFraction})` });
        }
      }),
    /**
     * The clock service as a clock domain gateway and its HLC reset protocol (runtime/clock/gateway.ts,
     * epoch.ts): physical and legacy timestamps wider than ±maxUncertaintyMs are refused (1 s: a legacy
     * whole-second timestamp fits); a reset undoes an HLC lead of at least resetMinLeadMs (default max offset).
     */
    gateway: z
      .object({
        maxUncertaintyMs: positive.default(1000),
        resetMinLeadMs: positive.optional(),
        /**
         * Refuse HLC timestamps that name no epoch (every service: MERIDIAN_HLC_REQUIRE_EPOCH; the clock service's
         * clock.json) rather than apply them under the max-offset check alone. Turn on once every caller sends epochs.
         */
        requireEpoch: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Worst-case drift of a node's oscillator between syncs, ppm (Spanner assumes 200). */
    driftPpm: positive.default(200),
  })
  .strict();

export type TimeConfig = z.output<typeof timeSchema>;
export type TimeReferenceConfig = z.output<typeof referenceSchema>;
export type PtpNetworkConfig = z.output<typeof ptpNetworkSchema>;
