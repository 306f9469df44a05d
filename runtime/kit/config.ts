/**
 * Service configuration: one file (JSON or YAML — the ConfigMap the blueprint renders) holding the kit's
 * `server` section and the service's own keys, with command-line overrides merged on top, validated by
 * zod. Every problem is reported at once, each naming the file and the key path, so a bad ConfigMap fails
 * the pod's start with a message an operator can act on.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseSpiffeId } from "../identity/index.js";

export class ConfigFileError extends Error {
  override name = "ConfigFileError";
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`config ${source}: ${problems.join("; ")}`);
  }
}

const port = z.number().int().min(0).max(65535);
const positiveMs = z.number().int().positive();

/** This machine's loopback: 127.0.0.0/8, ::1 or localhost (the URL parser has already lower-cased the host). */
const loopback = (url: string): boolean => {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  } catch {
    return false;
  }
};

/**
 * Where the issuer's keys come from: a path, or a URL (auth.ts fetches `http(s)://`). Keys fetched over plain
 * HTTP are whatever the network on the way says they are, and whoever holds them mints any identity: http is
 * taken only from this machine's loopback (tests, a local issuer).
 */
const jwksSource = z
  .string()
  .min(1)
  .refine((s) => !s.startsWith("http://") || loopback(s), "an issuer's JWKS URL must be https (plain http only from this machine's loopback: keys fetched in the clear could be anyone's)");

/** `server.auth.jwt`: the issuer whose bearer JWTs the service verifies (or a service's own, define.ts `jwt`). */
export const jwtConfigSchema = z
  .object({
    issuer: z.string().min(1),
    audience: z.string().min(1),
    /** A JWKS document inline, a path to one, or an https URL serving one (http from loopback only). */
    jwks: z.union([jwksSource, z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) })]),
    algorithms: z.array(z.string()).min(1).default(["EdDSA", "ES256", "RS256"]),
    /** Leeway for `exp`/`nbf` against the service's clock (the issuer's clock may run apart). */
    clockToleranceSeconds: z.number().int().min(0).max(300).default(0),
    /**
     * Claims a token must carry beyond what jose checks anyway. `exp` by default: a bearer token with no expiry is a
     * credential that is valid for ever once leaked (RFC 9068 access tokens always carry one); `[]` accepts them.
     */
    requiredClaims: z.array(z.string().min(1)).default(["exp"]),
  })
  .strict();
export type JwtConfigInput = z.input<typeof jwtConfigSchema>;

/** The kit's own section of every service's config file: listener, limits, timeouts, identity. */
export const serverConfigSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: port.default(8080),
    limits: z
      .object({
        /** Largest request body; routes may lower it (fastify `bodyLimit`). */
        bodyBytes: z
          .number()
          .int()
          .positive()
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        /** Longest path parameter (fastify `maxParamLength`); longer URLs answer 404. */
        paramLength: z.number().int().positive().max(8192).default(256),
        /** Largest request head (Node `maxHeaderSize`); larger answers 431. */
        headerBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024)
          .default(16 * 1024),
        /** Open connections beyond this are refused by the kernel accept loop (`server.maxConnections`). */
        connections: z.number().int().positive().default(1024),
        /** Requests one keep-alive connection may carry before it is closed (0: no limit). */
        requestsPerSocket: z.number().int().min(0).default(1000),
      })
      .strict()
      .prefault({}),
    timeouts: z
      .object({
        /** Time to receive a request's headers (slowloris), checked every second. */
        headersMs: positiveMs.default(10_000),
        /** Time to receive a whole request. */
        requestMs: positiveMs.default(30_000),
        /** Idle time a keep-alive connection is held open between requests. */
        keepAliveMs: positiveMs.default(10_000),
        /** Socket inactivity after which a connection is closed. */
        idleMs: positiveMs.default(60_000),
        /** SIGTERM: how long in-flight requests may take before connections are cut. */
        drainMs: positiveMs.default(10_000),
        /** Startup and /readyz: how long a store may take to answer. */
        storeMs: positiveMs.default(3_000),
      })
      .strict()
      .prefault({}),
    /** mTLS with X.509-SVIDs: PEM file paths. Clients without a certificate may still reach public routes. */
    tls: z
      .object({ cert: z.string().min(1), key: z.string().min(1), bundle: z.string().min(1) })
      .strict()
      .optional(),
    auth: z
      .object({
        /** Bearer JWTs (RFC 7519) verified with jose against these keys. */
        jwt: jwtConfigSchema.optional(),
        /** Who may call `operator` routes: these SPIFFE IDs (mTLS), or a JWT carrying this scope. */
        operators: z
          .object({ spiffe: z.array(z.string()).default([]), scope: z.string().min(1).default("meridian.operator") })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * Where a caller's mTLS identity comes from when the service does not terminate TLS itself. Only
     * `{xfcc: "istio-sidecar", spiffeId}`: the pod's own Istio sidecar verified the peer and reports it in
     * `x-forwarded-client-cert`, whose last element must be `By=` this pod's SPIFFE ID (runtime/kit/xfcc.ts).
     * Sound only where every connection to the port goes through that sidecar over mTLS; the blueprint
     * renders it only where the plan shows so (components/pki/xfcc-trust.ts). Absent: the header is never read.
     */
    identity: z
      .object({
        xfcc: z.literal("istio-sidecar"),
        /** The pod's own SPIFFE ID: its sidecar's X.509-SVID, `spiffe://<trust domain>/ns/<ns>/sa/<sa>`. */
        spiffeId: z.string().refine((id) => {
          try {
            return parseSpiffeId(id).uri === id;
          } catch {
            return false;
          }
        }, "expected this pod's SPIFFE ID, spiffe://<trust domain>/<path>"),
      })
      .strict()
      .optional(),
    log: z
      .object({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info") })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((s) => !(s.identity && s.tls), {
    message: "a service behind an Istio sidecar gets plaintext from it: server.tls and server.identity.xfcc exclude each other",
    path: ["identity"],
  });

export type ServerConfig = z.output<typeof serverConfigSchema>;
export type ServerConfigInput = z.input<typeof serverConfigSchema>;

/** Read a JSON or YAML file into a plain object; unreadable or unparsable files name the file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigFileError(path, [`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  let doc: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both; a .json file still gets JSON's errors.
    doc = path.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ConfigFileError(path, [`not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message.split("\n")[0]}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new ConfigFileError(path, ["expected a map of keys at the top level"]);
  return doc as Record<string, unknown>;
}

/** Deep-merge `over` onto `base` (plain objects merge; everything else, arrays included, replaces). */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? mergeConfig(prev, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** zod issues as `key.path: message (got value)`, the key path as the file spells it. */
function describeIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues.map((i) => {
    const path = [...prefix, ...i.path].map(String).join(".");
    return `${path || "(top level)"}: ${i.message}`;
  });
}

export interface ParsedConfig<C> {
  server: ServerConfig;
  service: C;
}

/**
 * Split a raw config into the kit's `server` section and the service's keys and validate both,
 * reporting every problem in one ConfigFileError.
 */
export function parseServiceConfig<S extends z.ZodType>(schema: S, raw: Record<string, unknown>, source: string): ParsedConfig<z.output<S>> {
  const { server: rawServer, ...rest } = raw;
  const server = serverConfigSchema.safeParse(rawServer ?? {});
  const service = schema.safeParse(rest);
  const problems = [...(server.success ? [] : describeIssues(server.error, ["server"])), ...(service.success ? [] : describeIssues(service.error))];
  if (problems.length > 0 || !server.success || !service.success) throw new ConfigFileError(source, problems);
  return { server: server.data, service: service.data };
}
