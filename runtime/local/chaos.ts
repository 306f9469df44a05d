/**
 * The chaos toolkit of the local estate: faults injected into one region, each reverted automatically
 * when its time is up (a forgotten fault must not outlive the experiment), or earlier on request.
 *
 * - network (latency with jitter, connection loss, partition): set on the proxy that owns the region's
 *   public address, so clients, the GSLB's checkers and peer regions all see it, the region process not;
 * - clock skew: the region's clock service is told to run off by that much;
 * - service degradation: one of the region's service signals is forced failing, which the GSLB counts.
 *
 * Faults of one kind on one region stack the way a network does: the largest latency and loss win, and a
 * partition holds while any partition fault is active; the latest skew wins. Reverting one fault restores
 * what the others still ask for (or nothing). Every fault is checked by `faultSchema` before it is applied.
 */
import { z } from "zod";
import { NO_FAULT, type NetworkFault } from "./proxy.js";

export const MAX_FAULT_SECONDS = 600;

export const faultSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("latency"), region: z.string().min(1), latencyMs: z.number().int().min(1).max(10_000), jitterMs: z.number().int().min(0).max(10_000).default(0) }).strict(),
  z.object({ kind: z.literal("loss"), region: z.string().min(1), loss: z.number().gt(0).max(1) }).strict(),
  z.object({ kind: z.literal("partition"), region: z.string().min(1) }).strict(),
  z.object({ kind: z.literal("skew"), region: z.string().min(1), skewMs: z.number().int().min(-3_600_000).max(3_600_000) }).strict(),
  z.object({ kind: z.literal("degrade"), region: z.string().min(1), service: z.string().min(1).max(64) }).strict(),
]);
export type Fault = z.infer<typeof faultSchema>;
export type FaultInput = z.input<typeof faultSchema>;

const durationSchema = z
  .number()
  .positive()
  .max(MAX_FAULT_SECONDS * 1000);

export interface ActiveFault {
  id: number;
  fault: Fault;
  startedAtMs: number;
  revertAtMs: number;
}

/** The network a region's proxy should apply for the faults active on it. */
export function composeNetwork(faults: readonly Fault[]): NetworkFault {
  const out: NetworkFault = { ...NO_FAULT };
  for (const f of faults) {
    if (f.kind === "latency") {
      out.latencyMs = Math.max(out.latencyMs, f.latencyMs);
      out.jitterMs = Math.max(out.jitterMs, f.jitterMs);
    } else if (f.kind === "loss") out.loss = Math.max(out.loss, f.loss);
    else if (f.kind === "partition") out.partitioned = true;
  }
  return out;
}

/** What the chaos toolkit drives: the estate's own fault controls. */
export interface ChaosTarget {
  regionIds(): string[];
  services(region: string): string[];
  setNetworkFault(region: string, fault: NetworkFault): void;
  setSkew(region: string, skewMs: number): Promise<void>;
  setSignalFailing(region: string, service: string, failing: boolean): Promise<void>;
  /** The skew a region runs with when no fault asks for one (its start-up skew). */
  baselineSkewMs(region: string): number;
  record(kind: "fault", region: string, detail: string): void;
}

/** A fault as people say it ("escrow forced failing"), for events and the CLI. */
export const describeFault = (f: Fault): string => {
  switch (f.kind) {
    case "latency":
      return `+${f.latencyMs} ms latency${f.jitterMs ? ` (±${f.jitterMs} ms jitter)` : ""}`;
    case "loss":
      return `${Math.round(f.loss * 100)}% connection loss`;
    case "partition":
      return "network partition";
    case "skew":
      return `clock skew ${f.skewMs} ms`;
    case "degrade":
      return `${f.service} forced failing`;
  }
};

export class Chaos {
  private nextId = 1;
  private readonly faults = new Map<number, { active: ActiveFault; timer: NodeJS.Timeout }>();

  constructor(
    private readonly target: ChaosTarget,
    private readonly now: () => number = Date.now,
  ) {}

  /** Check a fault against the estate (region, service) without applying it; throws a message naming the problem. */
  validate(input: FaultInput, durationMs: number): Fault {
    const parsed = faultSchema.safeParse(input);
    if (!parsed.success) throw new Error(`fault: ${parsed.error.issues.map((i) => `${i.path.join(".") || "fault"}: ${i.message}`).join("; ")}`);
    const fault = parsed.data;
    const regions = this.target.regionIds();
    if (!regions.includes(fault.region)) throw new Error(`fault: no region "${fault.region}" in this estate; expected one of ${regions.join(", ")}`);
    if (fault.kind === "degrade" && !this.target.services(fault.region).includes(fault.service))
      throw new Error(`fault: region ${fault.region} has no service "${fault.service}"; it runs ${this.target.services(fault.region).join(", ")}`);
    if (!durationSchema.safeParse(durationMs).success) throw new Error(`fault duration: expected (0, ${MAX_FAULT_SECONDS}] s, got ${durationMs / 1000} s`);
    return fault;
  }

  /** Apply a fault now; it reverts by itself after `durationMs`. */
  async inject(input: FaultInput, durationMs: number): Promise<ActiveFault> {
    const fault = this.validate(input, durationMs);
    const startedAtMs = this.now();
    const active: ActiveFault = { id: this.nextId++, fault, startedAtMs, revertAtMs: startedAtMs + durationMs };
    const timer = setTimeout(() => void this.revert(active.id).catch(() => undefined), durationMs);
    timer.unref();
    this.faults.set(active.id, { active, timer });
    try {
      await this.apply(fault.region, fault.kind);
    } catch (err) {
      clearTimeout(timer);
      this.faults.delete(active.id);
      throw err;
    }
    this.target.record("fault", fault.region, `${describeFault(fault)} for ${(durationMs / 1000).toFixed(1)} s (fault ${active.id})`);
    return active;
  }

  /** End a fault early (or on time); false when it was not active. */
  async revert(id: number): Promise<boolean> {
    const entry = this.faults.get(id);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.faults.delete(id);
    const f = entry.active.fault;
    try {
      await this.apply(f.region, f.kind, f);
    } catch (err) {
      // Said where the operator looks: a fault that could not be undone must not just vanish from the list.
      this.target.record("fault", f.region, `revert FAILED: ${describeFault(f)} (fault ${id}): ${(err as Error).message}`);
      throw err;
    }
    this.target.record("fault", f.region, `reverted: ${describeFault(f)} (fault ${id})`);
    return true;
  }

  /**
   * A region came back (restarted): its new process knows nothing of the skew and degradations set on the
   * old one, so set the faults still in force again (its network faults live on the proxy and held).
   * Returns what was re-applied, which is also recorded.
   */
  async reapply(region: string): Promise<ActiveFault[]> {
    const onRegion = this.active().filter((a) => a.fault.region === region);
    const kinds = new Set(onRegion.map((a) => a.fault.kind).filter((k) => k === "skew" || k === "degrade"));
    for (const kind of kinds) await this.apply(region, kind);
    if (onRegion.length) this.target.record("fault", region, `re-applied after restart: ${onRegion.map((a) => `${describeFault(a.fault)} (fault ${a.id})`).join(", ")}`);
    return onRegion;
  }

  active(): ActiveFault[] {
    return [...this.faults.values()].map((e) => e.active).sort((a, b) => a.id - b.id);
  }

  /** Revert everything (the estate is stopping, or an operator asked) — or everything on one region (a drill's own). */
  async revertAll(region?: string): Promise<void> {
    for (const f of this.active()) if (region === undefined || f.fault.region === region) await this.revert(f.id).catch(() => undefined);
  }

  /** Forget every fault without touching the regions (the estate is going away with them). */
  dispose(): void {
    for (const { timer } of this.faults.values()) clearTimeout(timer);
    this.faults.clear();
  }

  /** Make the region's controls of this kind match the faults still active on it. */
  private async apply(region: string, kind: Fault["kind"], ended?: Fault): Promise<void> {
    const onRegion = this.active()
      .map((a) => a.fault)
      .filter((f) => f.region === region);
    if (kind === "latency" || kind === "loss" || kind === "partition") return this.target.setNetworkFault(region, composeNetwork(onRegion));
    if (kind === "skew") {
      const latest = onRegion.filter((f): f is Extract<Fault, { kind: "skew" }> => f.kind === "skew").at(-1);
      return this.target.setSkew(region, latest?.skewMs ?? this.target.baselineSkewMs(region));
    }
    const degraded = new Set(onRegion.flatMap((f) => (f.kind === "degrade" ? [f.service] : [])));
    if (ended?.kind === "degrade") return degraded.has(ended.service) ? undefined : this.target.setSignalFailing(region, ended.service, false);
    for (const service of degraded) await this.target.setSignalFailing(region, service, true);
  }
}
