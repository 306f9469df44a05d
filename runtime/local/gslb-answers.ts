/**
 * The local GSLB's answers for the service name, from live health: the same traffic policy every provider
 * renders, resolved per client (ECS or source address), with a bounded log of the queries it answered.
 */
import { addressRecords, type DnsClient, type DnsQuestion, type DnsRecord } from "../gslb/index.js";
import { answerSet } from "../../model/traffic/answer.js";
import { labClientNetworks, resolveQuery, type ClientNetwork, type Resolution } from "../../model/traffic/resolve.js";
import { seededUniform } from "../../model/random.js";
import type { RoutingMode } from "../../model/config/traffic.js";
import type { HealthState } from "../../model/traffic/health.js";
import type { TrafficPolicy } from "../../model/traffic/policy.js";

/** One query the GSLB answered: who asked (and from where, by ECS or address), what, and what it drew. */
export interface DnsQueryLogEntry extends Omit<Resolution, "candidates"> {
  atMs: number;
  client: string;
  transport: "udp" | "tcp";
  subnet?: string;
  name: string;
  type: string;
  candidates: Resolution["candidates"];
}

export interface GslbAnswersOptions {
  policy: TrafficPolicy;
  /** Region id → the public address DNS answers with. */
  endpoints: Record<string, string>;
  ttlSeconds: number;
  health(): Record<string, HealthState>;
  /** Seed for the weighted draws: the same queries then get the same answers. */
  seed?: number;
  onQuery?(entry: DnsQueryLogEntry): void;
  /** Called with the answer set's text whenever it changes. */
  onAnswerSetChange(text: string): void;
}

const QUERY_LOG_SIZE = 2000;

export class GslbAnswers {
  /** The recent queries (newest last) and, per region, how many answers it has drawn. */
  readonly queryLog: DnsQueryLogEntry[] = [];
  readonly answersDrawn = new Map<string, number>();
  private lastAnswer = "";
  private readonly random: () => number;
  private readonly clientNetworks: ClientNetwork[];

  private policy: TrafficPolicy;

  constructor(private readonly options: GslbAnswersOptions) {
    this.policy = options.policy;
    this.random = options.seed === undefined ? Math.random : seededUniform(options.seed);
    this.clientNetworks = labClientNetworks(options.policy, options.endpoints);
  }

  /** The operator's routing controls: from now on no answer names a drained region (`meridian traffic drain`). */
  setDrained(drained: readonly string[]): void {
    this.policy = { ...this.options.policy, drained: [...drained] };
  }

  get drained(): readonly string[] {
    return this.policy.drained;
  }

  /**
   * The answer set for a client nobody placed: the regions a query may be answered with, each with its
   * weight and share. Each query gets one of them (`resolve`).
   */
  answer(): { mode: RoutingMode; answers: { regionId: string; address: string; weight: number; share: number }[]; addresses: string[]; ttl: number } {
    const { endpoints } = this.options;
    const policy = this.policy;
    const set = answerSet(policy, this.options.health()).answers;
    const total = set.reduce((s, a) => s + a.weight, 0);
    const answers = set.map((a) => ({ regionId: a.regionId, address: endpoints[a.regionId]!, weight: a.weight, share: total > 0 ? a.weight / total : 0 }));
    const text = answers.map((a) => (policy.mode === "weighted" || policy.mode === "anycast" ? `${a.address}×${a.weight}` : a.address)).join(",");
    if (text !== this.lastAnswer) {
      this.lastAnswer = text;
      this.options.onAnswerSetChange(text);
    }
    return { mode: policy.mode, answers, addresses: answers.map((a) => a.address), ttl: this.options.ttlSeconds };
  }

  /** Answer one question for the service name: this client's answer set, one region drawn, logged. */
  resolve(question: DnsQuestion, client: DnsClient): DnsRecord[] {
    const r = resolveQuery(this.policy, this.options.health(), this.options.endpoints, client, this.clientNetworks, this.random);
    const entry: DnsQueryLogEntry = {
      atMs: Date.now(),
      client: client.address,
      transport: client.transport,
      ...(client.subnet ? { subnet: `${client.subnet.address}/${client.subnet.prefixLength}` } : {}),
      name: question.name,
      type: question.type,
      ...r,
    };
    this.queryLog.push(entry);
    if (this.queryLog.length > QUERY_LOG_SIZE) this.queryLog.splice(0, this.queryLog.length - QUERY_LOG_SIZE);
    if (r.regionId !== undefined && (question.type === "A" || question.type === "AAAA")) this.answersDrawn.set(r.regionId, (this.answersDrawn.get(r.regionId) ?? 0) + 1);
    this.options.onQuery?.(entry);
    return addressRecords(question, { addresses: r.address === undefined ? [] : [r.address], ttl: this.options.ttlSeconds });
  }
}
