/**
 * LocalEstate: the `local` stack's estate on one machine — a process per region behind a proxy that owns
 * the region's public loopback address, the GSLB's health checkers, the GSLB DNS resolver answering for
 * the apex from live health, and a log of events (transitions, kills, skews) that drills and the
 * dashboard read.
 *
 * Start order keeps failures cheap and clear: every public port (dashboard, DNS, the region addresses) is
 * bound first, so a taken port stops the start before any process exists; then the estate-wide services (the region
 * processes spawned beside them, loading their code meanwhile); then the regions, in parallel, each reporting progress. A failure at any step undoes the earlier ones.
 */
import type { EstateSpec } from "../../model/estate.js";
import { serviceFqdn } from "../../model/estate.js";
import { startDnsServer, type DnsClient, type DnsQuestion, type DnsRecord, type DnsServer } from "../gslb/index.js";
import type { HealthState } from "../../model/traffic/health.js";
import { trafficPolicy, type TrafficPolicy } from "../../model/traffic/policy.js";
import { drain, restore } from "../../model/traffic/drain.js";
import { rateLimitShares } from "../../model/workloads/ratelimit-shares.js";
import { systemClock } from "../common/clock.js";
import { localOperatorAuth, type LocalOperatorAuth } from "../kit/index.js";
import type { Chaos } from "./chaos.js";
import { estateChaos } from "./estate-chaos.js";
import { RateLimitShares } from "./rate-limit-shares.js";
import { GlobalServices } from "./global-services.js";
import { escrowMapCredential } from "./trust-services.js";
import { GslbAnswers, type DnsQueryLogEntry } from "./gslb-answers.js";
import { regionAddress, regionPrivateAddress, withRouting, type EstateEvent, type LocalEstateOptions, type RegionEndpoint } from "./estate-options.js";
import { launchRegions, untilServed } from "./estate-regions.js";
import { bindOrExplain, bindRegionProxies } from "./ports.js";
import { Prober } from "./prober.js";
import type { RegionProxy } from "./proxy.js";
import { Supervisor } from "./supervisor.js";

export class LocalEstate {
  readonly events: EstateEvent[] = [];
  private stopped: Promise<void> | undefined;
  private tokenCache: { token: string; untilMs: number } | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly shares = new RateLimitShares({
    spec: () => this.spec,
    regionIds: () => this.regions.map((r) => r.id),
    isRunning: (id) => this.supervisor.isRunning(id),
    health: () => this.healthStates(),
    push: (id, requestsPerSecond) => this.admin(id, "/admin/ratelimit", { requestsPerSecond }),
    record: (detail) => this.record({ atMs: Date.now(), kind: "ratelimit", detail }),
  });
  /** Each region's current share of the estate-wide rate limit (requests/s), as last pushed. */
  readonly rateLimitShares: Map<string, number> = this.shares.current;
  private baselineSkews: Record<string, number> = {};
  /** Timed, self-reverting faults (network, clock skew, service degradation): `meridian drill …`, the dashboard. */
  readonly chaos: Chaos = estateChaos({
    regionIds: () => this.regions.map((r) => r.id),
    services: () => this.policy.signals.map((s) => s.name),
    proxy: (region) => (this.region(region), this.proxies.get(region)!),
    admin: (region, path, body) => this.admin(region, path, body),
    isRunning: (region) => this.supervisor.isRunning(region),
    setSkew: (region, skewMs) => this.setSkew(region, skewMs),
    baselineSkewMs: (region) => this.baselineSkews[region] ?? 0,
    record: (kind, region, detail) => this.record({ atMs: Date.now(), kind, region, detail }),
  });

  private constructor(
    readonly spec: EstateSpec,
    readonly policy: TrafficPolicy,
    readonly regions: RegionEndpoint[],
    readonly supervisor: Supervisor,
    readonly proxies: Map<string, RegionProxy>,
    readonly prober: Prober,
    readonly dns: DnsServer,
    readonly globals: GlobalServices,
    readonly operator: LocalOperatorAuth,
    private readonly gslb: GslbAnswers,
  ) {}

  /** The resolver's recent queries (newest last) and, per region, how many answers it has drawn. */
  get queryLog(): DnsQueryLogEntry[] {
    return this.gslb.queryLog;
  }
  get answersDrawn(): Map<string, number> {
    return this.gslb.answersDrawn;
  }

  static async start(options: LocalEstateOptions): Promise<LocalEstate> {
    const spec = withRouting(options.spec, options.routing);
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
        startDnsServer({ zone: spec.dns.apex, port: dnsPort, answer: (question, client) => (question.name === fqdn && ref.estate ? ref.estate.resolve(question, client) : null) }),
      );
      undo.push(() => dns.close());
      const indexed = chosen.map((r) => ({ id: r.id, index: spec.regions.indexOf(r) }));
      const proxyList = await bindRegionProxies(
        indexed.map((r) => ({ id: r.id, host: regionAddress(r.index) })),
        options.basePort ?? spec.runtime.local.basePort,
      );
      undo.push(() => Promise.all(proxyList.map((p) => p.close())));
      const proxies = new Map(indexed.map((r, i) => [r.id, proxyList[i]!]));

      checkAborted();
      // The region processes load their code (a second or more each) while the estate-wide services they need start.
      const supervisor = new Supervisor({
        onOutput: options.regionOutput,
        onUnexpectedExit: (region, detail) => ref.estate?.regionExited(region, detail),
        startTimeoutMs: options.regionStartTimeoutMs,
      });
      undo.push(() => supervisor.stopAll());
      for (const r of indexed) supervisor.prepare({ regionId: r.id, host: regionPrivateAddress(r.index), stack: spec.stack });

      // 2. The estate-wide services; the supervisor is their operator (its tokens open every admin route).
      progress("starting the estate's services: NTP grandmaster, proof log and witnesses, attestation verifier, quota and its verifiable map, escrow store");
      const operator = await localOperatorAuth(systemClock);
      const globals = await GlobalServices.start({
        spec,
        redisUrl: options.redisUrl,
        postgresUrl: options.postgresUrl,
        auth: operator.auth,
        token: operator.token,
        onProoflogExit: (detail) => ref.estate?.record({ atMs: Date.now(), kind: "crashed", detail: `the proof-log process (log, witnesses, monitor, certificates) exited: ${detail}` }),
      });
      undo.push(() => globals.close());
      const initialShares = rateLimitShares({ regions: chosen, runtime: spec.runtime });
      const regionToken = await operator.token({ subject: "local-region", ttlSeconds: 24 * 3600 });
      // Every region's escrow publishes its balances to the map, with a token only escrow's writes carry.
      const escrowMap = await escrowMapCredential(globals.map, operator.token);

      // 3. The regions, in parallel (stopped before the services they use).
      undo.push(() => supervisor.stopAll());
      checkAborted();
      const abort = () => void supervisor.stopAll(1000);
      options.signal?.addEventListener("abort", abort, { once: true });
      const unlisten = async () => options.signal?.removeEventListener("abort", abort);
      undo.push(unlisten);
      const regions = await launchRegions({ spec, indexed, supervisor, proxies, globals, auth: operator.auth, regionToken, escrowMap, shares: initialShares, options, progress });

      await unlisten();
      checkAborted();
      // The running regions' slice of the stack's traffic policy: the same model every provider renders.
      const full = trafficPolicy(spec);
      const running = new Set(regions.map((r) => r.id));
      const policy: TrafficPolicy = { ...full, targets: full.targets.filter((t) => running.has(t.id)), drained: full.drained.filter((id) => running.has(id)) };
      const prober = new Prober({
        policy,
        targets: Object.fromEntries(regions.map((r) => [r.id, r.url])),
        onTransition: (t) => {
          ref.estate?.record({ atMs: t.atMs, kind: "health", region: t.region, detail: `${t.from} → ${t.to}` });
          ref.estate?.rebalanceRateLimits();
        },
      });
      const gslb = new GslbAnswers({
        policy,
        endpoints: Object.fromEntries(regions.map((r) => [r.id, r.address])),
        ttlSeconds: spec.dns.ttlSeconds,
        health: () => prober.health(),
        seed: options.dnsSeed,
        onQuery: options.queryLog,
        onAnswerSetChange: (text) => ref.estate?.record({ atMs: Date.now(), kind: "dns", detail: `answer set ${text || "(none)"}` }),
      });
      const estate = new LocalEstate(spec, policy, regions, supervisor, proxies, prober, dns, globals, operator, gslb);
      ref.estate = estate;
      estate.baselineSkews = { ...options.skews };
      for (const r of regions) estate.rateLimitShares.set(r.id, initialShares[r.id] ?? 0);
      // Region tokens last a day; hand out fresh ones well before.
      const renew = async () => {
        const [token, map] = await Promise.all([operator.token({ subject: "local-region", ttlSeconds: 24 * 3600 }), escrowMapCredential(globals.map, operator.token)]);
        supervisor.broadcast({ event: "token", token, mapToken: map.token });
      };
      estate.timers.push(setInterval(() => void renew(), 3600_000).unref());
      // Up means served: each region answered every health signal through its network proxy, not only that its
      // process listens. Until then its first requests queue behind its cold start (under load, seconds: a drill's
      // client took that for lost connections in a healthy estate). The checkers then start on served regions.
      await untilServed(
        regions,
        policy.signals.map((x) => x.path),
        options.regionStartTimeoutMs ?? 90_000,
        checkAborted,
      );
      undo.push(async () => prober.stop());
      prober.start();
      estate.record({ atMs: Date.now(), kind: "started", detail: regions.map((r) => `${r.id}@${r.url}`).join(" ") });
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

  /** An operator token for the supervisor's own admin calls (cached while it has ten minutes left). */
  async token(): Promise<string> {
    const now = Date.now();
    if (!this.tokenCache || this.tokenCache.untilMs < now + 600_000) this.tokenCache = { token: await this.operator.token({ subject: "local-supervisor" }), untilMs: now + 3600_000 };
    return this.tokenCache.token;
  }

  /** POST an operator request to a region process over the control plane (no proxy, no faults). */
  async admin(id: string, path: string, body: unknown): Promise<unknown> {
    this.region(id);
    const url = this.controlUrl(id);
    if (!url) throw new Error(`region ${id} is not running`);
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await this.token()}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(3000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`region ${id} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as unknown;
  }

  /** Move the estate-wide rate limit's shares to the regions that serve now (see rate-limit-shares.ts). */
  rebalanceRateLimits(): Promise<void> {
    return this.shares.rebalance();
  }

  /** The GSLB's answer set for the service name from live health (see GslbAnswers.answer). */
  answer(): ReturnType<GslbAnswers["answer"]> {
    return this.gslb.answer();
  }

  /** Answer one DNS question for the service name: this client's answer set, one region drawn, logged. */
  resolve(question: DnsQuestion, client: DnsClient): DnsRecord[] {
    return this.gslb.resolve(question, client);
  }

  /** Regions the operator drained (the stack's `meridian:dns.drained`, then `drain`/`restore`). */
  get drained(): readonly string[] {
    return this.gslb.drained;
  }

  /**
   * The operator's routing control (`meridian traffic drain <region> --dashboard …`): the GSLB stops answering
   * with the region at once. Refused (DrainRefused) for an unknown region or when no other undrained region is
   * serving. Logged as an event and, as every routing control change, in the estate's proof log.
   */
  async drain(id: string): Promise<{ drained: string[]; logIndex: number }> {
    const next = drain(
      this.regions.map((r) => r.id),
      this.drained,
      id,
      this.healthStates(),
    );
    return this.setDrained(next, "drain", id);
  }

  /** Hand a drained region back to its health checks. */
  async restore(id: string): Promise<{ drained: string[]; logIndex: number }> {
    return this.setDrained(
      restore(
        this.regions.map((r) => r.id),
        this.drained,
        id,
      ),
      "restore",
      id,
    );
  }

  private async setDrained(next: string[], action: "drain" | "restore", id: string): Promise<{ drained: string[]; logIndex: number }> {
    const atMs = Date.now();
    // In the log first: a routing change nobody can later prove is not made.
    const entry = JSON.stringify({ type: "meridian.traffic.routing-control", stack: this.spec.stack, action, region: id, drained: next, atMs });
    const { index } = await this.globals.log.client.add(new TextEncoder().encode(entry));
    this.gslb.setDrained(next);
    this.record({ atMs, kind: "drain", region: id, detail: `${action}: drained ${next.join(", ") || "(none)"} (proof log entry ${index})` });
    void this.answer();
    return { drained: next, logIndex: index };
  }

  healthStates(): Record<string, HealthState> {
    return this.prober.health();
  }

  async killRegion(id: string): Promise<void> {
    this.region(id);
    await this.supervisor.kill(id);
    this.proxies.get(id)!.setUpstream(null);
    this.rateLimitShares.set(id, 0);
    this.record({ atMs: Date.now(), kind: "killed", region: id, detail: "SIGKILL" });
    void this.rebalanceRateLimits();
  }

  async restartRegion(id: string): Promise<void> {
    const r = this.region(id);
    this.proxies.get(id)!.setUpstream(null);
    this.rateLimitShares.set(id, 0);
    const proc = await this.supervisor.restart(id);
    this.record({ atMs: Date.now(), kind: "restarted", region: id, detail: `process ${proc.pid} started` });
    // The new process knows nothing of the faults in force on the region: set them again before traffic
    // (and its skew, when one changed while it was starting).
    try {
      const skewMs = this.supervisor.nextSpec(id)?.skewMs ?? proc.spec.skewMs;
      if (skewMs !== proc.spec.skewMs) await this.setSkew(id, skewMs);
      await this.chaos.reapply(id);
    } finally {
      this.proxies.get(id)!.setUpstream({ host: r.privateHost, port: proc.port });
    }
  }

  /** A region process ended without being asked to: the proxy refuses its connections from now on. */
  regionExited(id: string, detail: string): void {
    this.proxies.get(id)?.setUpstream(null);
    this.rateLimitShares.set(id, 0);
    this.record({ atMs: Date.now(), kind: "crashed", region: id, detail });
    void this.rebalanceRateLimits();
  }

  /**
   * Run a region's clock off by `skewMs`: what its next process starts with first, then the running one.
   * A region that is down gets it when it starts again — a skew reverted while the region was down must not
   * come back with it.
   */
  async setSkew(id: string, skewMs: number): Promise<void> {
    this.region(id);
    this.supervisor.updateSpec(id, { skewMs });
    if (this.supervisor.isRunning(id)) await this.admin(id, "/admin/skew", { skewMs });
    this.record({ atMs: Date.now(), kind: "skew", region: id, detail: `${skewMs} ms${this.supervisor.isRunning(id) ? "" : " (from its next start; it is down)"}` });
  }

  /** Every region's `/state` over the control plane (null for a region that does not answer); `services`: only theirs. */
  async regionStates(services?: readonly string[]): Promise<Record<string, unknown>> {
    const query = services ? `?services=${services.join(",")}` : "";
    const entries = await Promise.all(
      this.regions.map(async (r) => {
        const url = this.controlUrl(r.id);
        if (!url) return [r.id, null] as const;
        try {
          const res = await fetch(`${url}/state${query}`, { signal: AbortSignal.timeout(3000) });
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
      for (const t of this.timers) clearInterval(t);
      this.chaos.dispose();
      this.prober.stop();
      await this.dns.close().catch(() => undefined);
      await this.supervisor.stopAll();
      await Promise.all([...this.proxies.values()].map((p) => p.close()));
      await this.globals.close();
    })();
    return this.stopped;
  }
}
