/**
 * LocalEstate: the `local` stack's estate on one machine — a process per region on its own loopback
 * address, the GSLB's health checkers, the GSLB DNS resolver answering for the apex from live health,
 * and a log of events (transitions, kills, skews) that drills and the dashboard read.
 */
import type { EstateSpec } from "../../model/estate.js";
import { serviceFqdn } from "../../model/estate.js";
import { addressRecords, startDnsServer, type DnsServer } from "../gslb/index.js";
import { answerAddresses } from "../../model/traffic/answer.js";
import type { HealthState } from "../../model/traffic/health.js";
import { trafficPolicy, type TrafficPolicy } from "../../model/traffic/policy.js";
import { GlobalServices } from "./global-services.js";
import { Prober } from "./prober.js";
import { Supervisor, regionAddress } from "./supervisor.js";

export interface LocalEstateOptions {
  spec: EstateSpec;
  /** Run only the first n regions of the stack. */
  regions?: number;
  dnsPort?: number;
  basePort?: number;
  /** Initial clock skew per region id (ms). */
  skews?: Record<string, number>;
  redisUrl?: string;
  postgresUrl?: string;
}

export interface EstateEvent {
  atMs: number;
  kind: "started" | "health" | "killed" | "restarted" | "skew" | "dns";
  region?: string;
  detail: string;
}

export interface RegionEndpoint {
  id: string;
  address: string;
  url: string;
}

export class LocalEstate {
  readonly events: EstateEvent[] = [];
  private lastAnswer = "";

  private constructor(
    readonly spec: EstateSpec,
    readonly policy: TrafficPolicy,
    readonly regions: RegionEndpoint[],
    readonly supervisor: Supervisor,
    readonly prober: Prober,
    readonly dns: DnsServer,
    readonly globals: GlobalServices,
  ) {}

  static async start(options: LocalEstateOptions): Promise<LocalEstate> {
    const spec = options.spec;
    const chosen = spec.regions.slice(0, options.regions ?? spec.regions.length);
    if (chosen.length === 0) throw new Error("the local estate needs at least one region");
    const port = options.basePort ?? spec.runtime.local.basePort;
    const globals = await GlobalServices.start({ spec, redisUrl: options.redisUrl, postgresUrl: options.postgresUrl });
    const supervisor = new Supervisor();
    const regions: RegionEndpoint[] = [];
    try {
      const procs = await Promise.all(
        chosen.map((r, i) =>
          supervisor.start({
            regionId: r.id,
            host: regionAddress(i),
            port,
            skewMs: options.skews?.[r.id] ?? 0,
            stack: spec.stack,
            grandmaster: `127.0.0.1:${globals.grandmaster.port}`,
            redisUrl: options.redisUrl,
            postgresUrl: options.postgresUrl,
          }),
        ),
      );
      procs.forEach((p) => regions.push({ id: p.spec.regionId, address: p.spec.host, url: p.url }));
    } catch (err) {
      await supervisor.stopAll();
      await globals.close();
      throw err;
    }
    // The running regions' slice of the stack's traffic policy: the same model every provider renders.
    const full = trafficPolicy(spec);
    const running = new Set(regions.map((r) => r.id));
    const policy: TrafficPolicy = { ...full, targets: full.targets.filter((t) => running.has(t.id)) };
    // The prober and resolver call back into the estate, which exists only once they do.
    const ref: { estate?: LocalEstate } = {};
    const prober = new Prober({
      policy,
      targets: Object.fromEntries(regions.map((r) => [r.id, r.url])),
      onTransition: (t) => ref.estate?.record({ atMs: t.atMs, kind: "health", region: t.region, detail: `${t.from} → ${t.to}` }),
    });
    const fqdn = serviceFqdn(spec);
    const dns = await startDnsServer({
      zone: spec.dns.apex,
      port: options.dnsPort ?? spec.runtime.local.dnsPort,
      answer: (question) => (question.name === fqdn && ref.estate ? addressRecords(question, ref.estate.answer()) : null),
    }).catch(async (err: unknown) => {
      await supervisor.stopAll();
      await globals.close();
      throw err;
    });
    const estate = new LocalEstate(spec, policy, regions, supervisor, prober, dns, globals);
    ref.estate = estate;
    estate.record({ atMs: Date.now(), kind: "started", detail: regions.map((r) => `${r.id}@${r.url}`).join(" ") });
    prober.start();
    return estate;
  }

  /** The GSLB's current answer for the service name, from live health. */
  answer(): { addresses: string[]; ttl: number } {
    const endpoints = Object.fromEntries(this.regions.map((r) => [r.id, r.address]));
    const addresses = answerAddresses(this.policy, this.healthStates(), endpoints).map((a) => a.address);
    const text = addresses.join(",");
    if (text !== this.lastAnswer) {
      this.lastAnswer = text;
      this.record({ atMs: Date.now(), kind: "dns", detail: `answer ${text || "(none)"}` });
    }
    return { addresses, ttl: this.spec.dns.ttlSeconds };
  }

  healthStates(): Record<string, HealthState> {
    return this.prober.health();
  }

  async killRegion(id: string): Promise<void> {
    await this.supervisor.kill(id);
    this.record({ atMs: Date.now(), kind: "killed", region: id, detail: "SIGKILL" });
  }

  async restartRegion(id: string): Promise<void> {
    await this.supervisor.restart(id);
    this.record({ atMs: Date.now(), kind: "restarted", region: id, detail: "process restarted" });
  }

  async setSkew(id: string, skewMs: number): Promise<void> {
    const region = this.regions.find((r) => r.id === id);
    if (!region) throw new Error(`unknown region ${id}`);
    const res = await fetch(`${region.url}/admin/skew`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ skewMs }) });
    if (!res.ok) throw new Error(`setting skew on ${id} failed: ${res.status} ${await res.text()}`);
    this.record({ atMs: Date.now(), kind: "skew", region: id, detail: `${skewMs} ms` });
  }

  /** Every region's `/state` (null for a region that does not answer). */
  async regionStates(): Promise<Record<string, unknown>> {
    const entries = await Promise.all(
      this.regions.map(async (r) => {
        try {
          const res = await fetch(`${r.url}/state`, { signal: AbortSignal.timeout(1000) });
          return [r.id, res.ok ? await res.json() : null] as const;
        } catch {
          return [r.id, null] as const;
        }
      }),
    );
    return Object.fromEntries(entries);
  }

  record(event: EstateEvent): void {
    this.events.push(event);
    if (this.events.length > 500) this.events.splice(0, this.events.length - 500);
  }

  async stop(): Promise<void> {
    this.prober.stop();
    await this.dns.close();
    await this.supervisor.stopAll();
    await this.globals.close();
  }
}
