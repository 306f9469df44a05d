/**
 * A service's definition: what it is called, the zod schema of its config keys, the stores it needs, and
 * `start`, which builds the domain from the validated config and returns its routes and hooks. The kit
 * owns everything else (listener, limits, errors, health, metrics, identity, HLC, drain). The same
 * definition runs as a pod (`runService`, from `meridian <svc> serve --config …`) and in-process
 * (`startService`, from `meridian local` and tests).
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { z } from "zod";
import type { Clock } from "../common/clock.js";
import type { JwtConfigInput, ServerConfig } from "./config.js";
import type { ConsistencyHooks } from "./consistency.js";
import type { HlcHooks } from "./hlc.js";
import type { StoreSpec } from "./stores.js";

export type { HlcHooks } from "./hlc.js";

/** A readiness check: `true` when ready, otherwise the reason (or a rejection, whose message is used). */
export type ReadinessCheck = () => true | string | Promise<true | string>;

/** A non-HTTP listener the service runs beside its HTTP API (NTP or DNS over UDP, gRPC). */
export interface Listener {
  /** Names the listener in the ready line and in bind errors (`ntp`, `dns`, `grpc`). */
  name: string;
  host: string;
  port: number;
  /** URL scheme shown in the ready line (`udp`, `grpc`, `tcp`). */
  scheme: string;
  /** Bind and serve; resolves with the bound port. A rejection with an errno code becomes a BindError. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

export interface ServiceContext<C> {
  /** The service's validated config keys (the file without `server`). */
  config: C;
  /** The kit's resolved `server` section (listener, limits, timeouts, identity). */
  server: ServerConfig;
  /** The clock the service's cores take: the machine's, or a local region's skewed one. */
  clock: Clock;
  log: Logger;
  /** Register service metrics here; /metrics serves it with the kit's RED series. */
  metrics: Registry;
}

export interface ServiceParts {
  /** Register routes (encapsulated: parsers and hooks set here stay here). Every route declares `config.auth`. */
  routes?(app: FastifyInstance): void | Promise<void>;
  /** Named readiness checks; /readyz answers 503 naming each failing one. Stores are checked by the kit. */
  ready?: Record<string, ReadinessCheck>;
  hlc?: HlcHooks;
  /** Consistency tokens: every successful write response carries `token()` (consistency.ts). */
  consistency?: ConsistencyHooks;
  listeners?: Listener[];
  /** Extra registries served on /metrics (a domain object that keeps its own). */
  registries?: Registry[];
  /** Called once the HTTP API and every listener are bound (start timers, sync loops). */
  started?(): void | Promise<void>;
  /** Release the domain's resources after HTTP has drained and listeners closed (stores, timers). */
  close?(): Promise<void>;
}

export interface ServiceDefinition<S extends z.ZodType = z.ZodType, P extends ServiceParts = ServiceParts> {
  /** Lower-case name: the `service` metric label, the log name, the ready line. */
  name: string;
  /** The service's config keys; the kit validates `server` itself. */
  config: S;
  /** Stores to probe before start and on /readyz; an undefined entry is a store not configured. */
  stores?(config: z.output<S>): Record<string, StoreSpec | undefined>;
  /**
   * The issuer of the bearer JWTs this service's callers present, when the service's own config names it
   * (escrow's buyers: its `identity` section). The kit verifies those tokens as it would `server.auth.jwt`,
   * which must then be left unset (one issuer per service).
   */
  jwt?(config: z.output<S>): JwtConfigInput | undefined;
  start(ctx: ServiceContext<z.output<S>>): P | Promise<P>;
}

export function defineService<S extends z.ZodType, P extends ServiceParts>(definition: ServiceDefinition<S, P>): ServiceDefinition<S, P> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) throw new Error(`service name ${JSON.stringify(definition.name)}: expected a lower-case slug`);
  return definition;
}
