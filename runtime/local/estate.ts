/**
 * LocalEstate: the `local` stack's estate on one machine — a process per region behind a proxy that owns
 * the region's public loopback address, the GSLB's health checkers, the GSLB DNS resolver answering for
 * the apex from live health, and a log of events (transitions, kills, skews) that drills and the
 * dashboard read.
 *
 * Start order keeps failures cheap and clear: every public port (dashboard, DNS, the region addresses) is
 * bound first, so a taken port stops the start before any process exists; then the estate-wide services;
 * then the regions, in parallel, each reporting progress. A failure at any step undoes the earlier ones.
 */
import type { EstateSpec } from "../../model/estate.js";
import { serviceFqdn } from "../../model/estate.js";
import { addressRecords, startDnsServer, type DnsServer } from "../gslb/index.js";
import { answerAddresses } from "../../model/traffic/answer.js";
import type { HealthState } from "../../model/traffic/health.js";
import { trafficPolicy, type TrafficPolicy } from "../../model/traffic/policy.js";
import { GlobalServices } from "./global-services.js";
import { bindOrExplain, bindRegionProxies } from "./ports.js";
import { Prober } from "./prober.js";
import type { NetworkFault, RegionProxy } from "./proxy.js";
import { Supervisor } from "./supervisor.js";

export interface LocalEstateOptions {
  spec: EstateSpec;
  /** Run only these regions (ids of the stack, in stack order); default all. */
  regionIds?: string[];
  dnsPort?: number;
  basePort?: number;
  /** Initial clock skew per region id (ms). */
  skews?: Record<string, number>;
  redisUrl?: string;
  postgresUrl?: string;
  /** Progress lines while starting ("starting region local-aws …"). */
  progress?(line: string): void;
  /** Region processes' own output, line by line. */
  regionOutput?(region: string, line: string): void;
  regionStartTimeoutMs?: number;
  /** Abort a start under way (Ctrl-C while starting): what was started is stopped and start() rejects. */
  signal?: AbortSignal;
}

export interface EstateEvent {
  atMs: number;
  kind: "started" | "health" | "killed" | "restarted" | "crashed" | "skew" | "dns" | "fault";
  region?: string;
  detail: string;
}

export interface RegionEndpoint {
  id: string;
  /** The public address DNS answers with (the proxy's), and the URL clients and checkers use. */
  address: string;
  port: number;
  url: string;
  /** The region process's own address (control plane: the supervisor's admin calls bypass the network). */
  privateHost: string;
}

/** The public loopback address of region number `index` (0-based), and its process's private one. */
export const regionAddress = (index: number): string => `127.0.1.${index + 1}`;
export const regionPrivateAddress = (index: number): string => `127.0.2.${index + 1}`;

export class LocalEstate {
  readonly events: EstateEvent[] = [];
  private lastAnswer = "";
  private stopped: Promise<void> | undefined;

  private constructor(
    readonly spec: EstateSpec,
    readonly policy: TrafficPolicy,
    readonly regions: RegionEndpoint[],
    readonly supervisor: Supervisor,
    readonly proxies: Map<string, RegionProxy>,
    readonly prober: Prober,
    readonly dns: DnsServer,
    readonly globals: GlobalServices,
  ) {}

  static async start(options: LocalEstateOptions): Promise<LocalEstate> {
    const spec = options.spec;
    const chosen = options.regionIds ? spec.regions.filter((r) => options.regionIds!.includes(r.id)) : spec.regions;
    if (chosen.length === 0) throw new Error("the local estate needs at least one region");
    const progress = options.progress ?? (() => undefined);
    const undo: (() => Promise<unknown>)[] = [];
    const cleanUp = async () => {
      for (const step of undo.reverse()) await step().catch(() => undefined);
    };
    const ref: { estate?: LocalEstate } = {};
    const checkAborted = () => {
      if (options.signal?.aborted) throw new Error("start interrupted");
    };
    try {
      // 1. Every public port, before anything runs.
      const fqdn = serviceFqdn(spec);
      const dnsPort = options.dnsPort ?? spec.runtime.local.dnsPort;
      const dns = await bindOrExplain("GSLB DNS server, UDP and TCP", `127.0.0.1:${dnsPort}`, "--dns-port <n>", () =>
        startDnsServer({ zone: spec.dns.apex, port: dnsPort, answer: (question) => (question.name === fqdn && ref.estate ? addressRecords(question, ref.estate.answer()) : null) }),
      );
      undo.push(() => dns.close());
      const indexed = chosen.map((r) => ({ id: r.id, index: spec.regions.indexOf(r) }));
      const proxyList = await bindRegionProxies(indexed.map((r) => ({ id: r.id, host: regionAddress(r.index) })), options.basePort ?? spec.runtime.local.basePort);
      undo.push(() => Promise.all(proxyList.map((p) => p.close())));
      const proxies = new Map(indexed.map((r, i) => [r.id, proxyList[i]!]));

      checkAborted();
      // 2. The estate-wide services.
      progress("starting the estate's services: NTP grandmaster, proof log and witnesses, escrow");
      const globals = await GlobalServices.start({ spec, redisUrl: options.redisUrl, postgresUrl: options.postgresUrl });
      undo.push(() => globals.close());

      // 3. The regions, in parallel.
      const supervisor = new Supervisor({
        onOutput: options.regionOutput,
        onUnexpectedExit: (region, detail) => ref.estate?.regionExited(region, detail),
        startTimeoutMs: options.regionStartTimeoutMs,
      });
      undo.push(() => supervisor.stopAll());
      checkAborted();
      const abort = () => void supervisor.stopAll(1000);
      options.signal?.addEventListener("abort", abort, { once: true });
      const unlisten = async () => options.signal?.removeEventListener("abort", abort);
      undo.push(unlisten);
      const regions: RegionEndpoint[] = await Promise.all(
        indexed.map(async ({ id, index }) => {
          progress(`starting region ${id} …`);
          const t0 = Date.now();
          const privateHost = regionPrivateAddress(index);
          const args = ["--grandmaster", `127.0.0.1:${globals.grandmaster.port}`];
          if (options.redisUrl) args.push("--redis", options.redisUrl);
          if (options.postgresUrl) args.push("--postgres", options.postgresUrl);
          const proc = await supervisor.start({ regionId: id, host: privateHost, skewMs: options.skews?.[id] ?? 0, stack: spec.stack, args });
          const proxy = proxies.get(id)!;
          proxy.setUpstream({ host: privateHost, port: proc.port });
          progress(`region ${id} ready at http://${proxy.host}:${proxy.port} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
          return { id, address: proxy.host, port: proxy.port, url: `http://${proxy.host}:${proxy.port}`, privateHost };
        }),
      );

      await unlisten();
      checkAborted();
      // The running regions' slice of the stack's traffic policy: the same model every provider renders.
      const full = trafficPolicy(spec);
      const running = new Set(regions.map((r) => r.id));
      const policy: TrafficPolicy = { ...full, targets: full.targets.filter((t) => running.has(t.id)) };
      const prober = new Prober({
        policy,
        targets: Object.fromEntries(regions.map((r) => [r.id, r.url])),
        onTransition: (t) => ref.estate?.record({ atMs: t.atMs, kind: "health", region: t.region, detail: `${t.from} → ${t.to}` }),
      });
      const estate = new LocalEstate(spec, policy, regions, supervisor, proxies, prober, dns, globals);
      ref.estate = estate;
      estate.record({ atMs: Date.now(), kind: "started", detail: regions.map((r) => `${r.id}@${r.url}`).join(" ") });
      prober.start();
      return estate;
    } catch (err) {
      await cleanUp();
      throw err;
    }
  }

  region(id: string): RegionEndpoint {
    const r = this.regions.find((x) => x.id === id);
    if (!r) throw new Error(`unknown region ${id}; this estate runs ${this.regions.map((x) => x.id).join(", ")}`);
    return r;
  }

  /** The region process's own URL (the supervisor's control plane; no proxy, no faults). */
  controlUrl(id: string): string | undefined {
    const p = this.supervisor.get(id);
    return p && this.supervisor.isRunning(id) ? p.url : undefined;
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
    this.region(id);
    await this.supervisor.kill(id);
    this.proxies.get(id)!.setUpstream(null);
    this.record({ atMs: Date.now(), kind: "killed", region: id, detail: "SIGKILL" });
  }

  async restartRegion(id: string): Promise<void> {
    const r = this.region(id);
    this.proxies.get(id)!.setUpstream(null);
    const proc = await this.supervisor.restart(id);
    this.proxies.get(id)!.setUpstream({ host: r.privateHost, port: proc.port });
    this.record({ atMs: Date.now(), kind: "restarted", region: id, detail: `process ${proc.pid} started` });
  }

  /** A region process ended without being asked to: the proxy refuses its connections from now on. */
  regionExited(id: string, detail: string): void {
    this.proxies.get(id)?.setUpstream(null);
    this.record({ atMs: Date.now(), kind: "crashed", region: id, detail });
  }

  async setSkew(id: string, skewMs: number): Promise<void> {
    this.region(id);
    const url = this.controlUrl(id);
    if (!url) throw new Error(`region ${id} is not running`);
    const res = await fetch(`${url}/admin/skew`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ skewMs }) });
    if (!res.ok) throw new Error(`setting skew on ${id} failed: ${res.status} ${await res.text()}`);
    this.supervisor.updateSpec(id, { skewMs });
    this.record({ atMs: Date.now(), kind: "skew", region: id, detail: `${skewMs} ms` });
  }

  setNetworkFault(id: string, fault: NetworkFault): void {
    this.region(id);
    this.proxies.get(id)!.setFault(fault);
    this.record({ atMs: Date.now(), kind: "fault", region: id, detail: JSON.stringify(fault) });
  }

  /** Every region's `/state` over the control plane (null for a region that does not answer). */
  async regionStates(): Promise<Record<string, unknown>> {
    const entries = await Promise.all(
      this.regions.map(async (r) => {
        const url = this.controlUrl(r.id);
        if (!url) return [r.id, null] as const;
        try {
          const res = await fetch(`${url}/state`, { signal: AbortSignal.timeout(1000) });
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

  /** Stop everything (idempotent: a second call waits for the first). */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.prober.stop();
      await this.dns.close().catch(() => undefined);
      await this.supervisor.stopAll();
      await Promise.all([...this.proxies.values()].map((p) => p.close()));
      await this.globals.close();
    })();
    return this.stopped;
  }
}
