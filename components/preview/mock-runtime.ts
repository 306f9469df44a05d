/**
 * A recording mock runtime: runs the real program in-process under `pulumi.runtime.setMocks` (no CLI,
 * no credentials, no cloud calls) and records every resource the program registers — URN, type, name,
 * parent, provider and inputs. `meridian plan` and every component test use it.
 *
 * Values only the cloud can know (load-balancer addresses, ARNs, ids) are unknown during a preview; they
 * are recorded as the string COMPUTED. Pass `cloudValues: "fake"` to get deterministic stand-ins instead,
 * so tests can follow a value from one resource into another's inputs. The stand-ins are what each cloud
 * really returns: an AWS load balancer publishes a hostname, an Elastic IP an address.
 *
 * Every resource records its dependencies (explicit `dependsOn` and the resources its inputs came from),
 * and the finished plan is checked against the providers' rules (components/preview/rules): a plan the
 * providers would refuse throws ProviderRulesError with the providers' own messages.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import * as rpc from "@pulumi/pulumi/runtime/rpc.js";
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import { checkProviderRules, ProviderRulesError } from "./rules/index.js";

export const COMPUTED = "(computed)";

export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  /** Parent URN; the stack resource for top-level resources. */
  parent: string | null;
  /** Provider reference (`<provider urn>::<id>`) for custom resources that name one. */
  provider: string | null;
  custom: boolean;
  inputs: Record<string, unknown>;
  /** URNs this resource waits for: its `dependsOn` and every resource an input of it came from. */
  dependencies: string[];
}

export interface MockRuntimeOptions {
  project?: string;
  stack: string;
  /** Flat config map: `meridian:regions` → value (objects are JSON-encoded for the engine). */
  config: Record<string, unknown>;
  secretKeys?: string[];
  /** "computed": cloud-only outputs are unknown (a preview). "fake": deterministic stand-ins. */
  cloudValues?: "computed" | "fake";
  /** Check the recorded plan against the providers' rules (default true). */
  providerRules?: boolean;
}

export interface MockRun<T> {
  resources: RecordedResource[];
  outputs: T;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getCustom(): boolean;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDependenciesList(): string[];
}
interface MonitorLike {
  registerResource(req: RegisterRequest, cb: (err: unknown, res?: { getUrn(): string }) => void): void;
}

/** Run `program` under mocks and return what it registered and its (resolved) outputs. */
export async function runUnderMocks<T>(program: () => T | Promise<T>, options: MockRuntimeOptions): Promise<MockRun<Awaited<T>>> {
  const preview = (options.cloudValues ?? "computed") === "computed";
  const resources: RecordedResource[] = [];
  let counter = 0;

  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        counter += 1;
        const id = preview ? "" : `${args.name}-id`;
        const state: Record<string, unknown> = { ...args.inputs };
        if (!preview) Object.assign(state, fakeCloudState(args.type, args.name, args.inputs, counter));
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        return { ...args.inputs, ...fakeCallResult(args.token, args.inputs, preview) };
      },
    },
    options.project ?? "meridian",
    options.stack,
    preview,
  );

  const monitor = settings.getMonitor() as unknown as MonitorLike;
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    original(req, (err, res) => {
      if (!err && res) {
        resources.push({
          urn: res.getUrn(),
          type: req.getType(),
          name: req.getName(),
          parent: req.getParent() || null,
          provider: req.getProvider() || null,
          custom: req.getCustom(),
          inputs: showUnknowns(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
          dependencies: [...new Set(req.getDependenciesList())],
        });
      }
      cb(err, res);
    });
  };

  const engineConfig: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.config)) {
    engineConfig[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(engineConfig, options.secretKeys);

  let returned: unknown;
  await withoutEngineStacks(async () => {
    await pulumi.runtime.runInPulumiStack(async () => {
      returned = await program();
      return returned as Record<string, unknown>;
    });
    await settings.awaitStackRegistrations();
    // Resources still waiting on a dependsOn chain, and the stack's own registerOutputs, are RPCs in flight:
    // drain them, or they are lost (and hit the next run's mock monitor as "unknown resource"). The SDK marks
    // waitForRPCs internal; it is what `pulumi up` itself awaits before disconnecting.
    await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  });
  const outputs = (await resolveOutputs(returned)) as Awaited<T>;
  if (options.providerRules ?? true) {
    const violations = checkProviderRules(resources);
    if (violations.length > 0) throw new ProviderRulesError(options.stack, violations);
  }
  return { resources, outputs };
}

/**
 * The SDK captures a call stack for every RPC promise (printed only under PULUMI_DEBUG_PROMISE_LEAKS) and
 * for every resource (its source position, which only a real engine shows). Under tsx or vitest each
 * stack is formatted through source maps, and that was over half of an estate's evaluation; the mock
 * monitor reads neither, so while the program runs under mocks they are not captured. Errors the program
 * throws keep their full stacks. Both hooks are SDK internals: if a release renames them, nothing is
 * skipped and evaluation is only slower.
 */
const sdk = createRequire(import.meta.url);
const debuggable = sdk("@pulumi/pulumi/runtime/debuggable.js") as { debugPromiseLeaks?: boolean; debuggablePromise?: (p: Promise<unknown>, ctx: unknown) => Promise<unknown> };
const resourceClass = pulumi.Resource as unknown as { callsites?: () => unknown[] };
let skipping = 0;
let restore: (() => void) | undefined;

async function withoutEngineStacks<T>(run: () => Promise<T>): Promise<T> {
  if (skipping++ === 0) restore = skipEngineStacks();
  try {
    return await run();
  } finally {
    if (--skipping === 0) restore?.();
  }
}

function skipEngineStacks(): () => void {
  const { debuggablePromise } = debuggable;
  const { callsites } = resourceClass;
  if (typeof debuggablePromise === "function" && !debuggable.debugPromiseLeaks) {
    debuggable.debuggablePromise = (p, ctx) => {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        return debuggablePromise(p, ctx);
      } finally {
        Error.stackTraceLimit = limit;
      }
    };
  }
  if (typeof callsites === "function") resourceClass.callsites = () => [];
  return () => {
    debuggable.debuggablePromise = debuggablePromise;
    resourceClass.callsites = callsites;
  };
}

/** Resolve every Output in a value; an unknown one (a preview) becomes COMPUTED. */
async function resolveOutputs(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const internal = value as unknown as { isKnown: Promise<boolean>; promise(): Promise<unknown> };
    if (!(await internal.isKnown)) return COMPUTED;
    return resolveOutputs(await internal.promise());
  }
  if (value instanceof Promise) return resolveOutputs(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveOutputs));
  if (value !== null && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveOutputs(v)] as const));
    return Object.fromEntries(entries);
  }
  return showUnknowns(value);
}

/** Replace the engine's unknown sentinel (and secret wrappers) with readable values. */
function showUnknowns(value: unknown): unknown {
  if (value === rpc.unknownValue || value === undefined) return value === undefined ? undefined : COMPUTED;
  if (Array.isArray(value)) return value.map(showUnknowns);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[rpc.specialSigKey] === rpc.specialSecretSig) return showUnknowns(obj["value"]);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, showUnknowns(v)]));
  }
  return value;
}

/** A DS record's rdata for a key named `seed`: a key tag and a SHA-256 digest (algorithm 13, digest type 2). */
function fakeDs(seed: string): string {
  const digest = createHash("sha256").update(seed).digest("hex").toUpperCase();
  return `${parseInt(digest.slice(0, 4), 16)} 13 2 ${digest}`;
}

/**
 * Data sources the program reads: the caller's account is known in a preview too (the engine runs the
 * invoke); a signed Cloud DNS zone's keys exist only once the zone does.
 */
function fakeCallResult(token: string, inputs: Record<string, unknown>, preview: boolean): Record<string, unknown> {
  switch (token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/meridian", userId: "AIDAMERIDIAN", id: "123456789012" };
    case "azure-native:redisenterprise:listDatabaseKeys":
      return preview ? {} : { primaryKey: `mockPrimaryKey${String(inputs["clusterName"]).replace(/[^A-Za-z0-9]/g, "")}`, secondaryKey: "mockSecondaryKey" };
    case "gcp:dns/getKeys:getKeys":
      return preview ? {} : { keySigningKeys: [{ isActive: true, algorithm: "ecdsap256sha256", dsRecord: fakeDs(`clouddns ${String(inputs["managedZone"])}`) }], zoneSigningKeys: [] };
    default:
      return {};
  }
}

/**
 * Deterministic stand-ins for values a cloud assigns, shaped as each cloud returns them, for tests that
 * follow values between resources: an AWS load balancer (aws-load-balancer-controller annotations) gets
 * a hostname, other LoadBalancer Services an IP; Elastic IPs, GCP addresses and Azure public IPs an IP.
 */
function fakeCloudState(type: string, name: string, inputs: Record<string, unknown>, n: number): Record<string, unknown> {
  // Distinct per resource (198.18.0.0/15, the benchmarking range): two gateways never share an address.
  const host = n + 1;
  const ip = `198.${18 + ((host >> 16) & 1)}.${(host >> 8) & 255}.${host & 255}`;
  const base = { arn: `arn:mock:${type}:${name}`, selfLink: `mock://${type}/${name}` };
  switch (type) {
    case "kubernetes:core/v1:Service": {
      const annotations = (inputs["metadata"] as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
      const aws = Object.keys(annotations).some((k) => k.startsWith("service.beta.kubernetes.io/aws-load-balancer"));
      return { status: { loadBalancer: { ingress: [aws ? { hostname: `k8s-${name}-${n}.elb.amazonaws.com` } : { ip }] } } };
    }
    // The token controller fills a service-account-token Secret in; the provider waits for it before returning.
    case "kubernetes:core/v1:Secret": {
      if (inputs["type"] !== "kubernetes.io/service-account-token") return base;
      const b64 = (text: string) => Buffer.from(text).toString("base64");
      const ns = String((inputs["metadata"] as { namespace?: unknown } | undefined)?.namespace ?? "default");
      return { data: { token: b64(`mock-token.${name}`), "ca.crt": b64(`-----BEGIN CERTIFICATE-----\nmock cluster CA of ${name}\n-----END CERTIFICATE-----\n`), namespace: b64(ns) } };
    }
    case "aws:ec2/eip:Eip":
      return { ...base, publicIp: ip, allocationId: `eipalloc-${n.toString(16).padStart(8, "0")}` };
    case "gcp:compute/address:Address":
      return { ...base, address: ip };
    case "azure-native:network:PublicIPAddress":
      return { ipAddress: ip };
    // A VPN's outside addresses, one per tunnel end (distinct per resource, like the gateways above).
    case "aws:ec2/vpnConnection:VpnConnection":
      return { ...base, tunnel1Address: `203.0.${(2 * n) & 255}.1`, tunnel2Address: `203.0.${(2 * n + 1) & 255}.1` };
    // A cluster-mode replication group's configuration endpoint, in ElastiCache's shape (clustercfg.<id>.<hash>.<region>).
    case "aws:elasticache/replicationGroup:ReplicationGroup": {
      if (inputs["clusterMode"] !== "enabled") return base;
      const region = String(inputs["region"] ?? "us-east-1").replace(/^([a-z]+)-([a-z])[a-z]*-(\d+)$/, "$1$2$3");
      return { ...base, configurationEndpointAddress: `clustercfg.${String(inputs["replicationGroupId"] ?? name)}.x${n.toString(36)}.${region}.cache.amazonaws.com` };
    }
    // Memorystore for Redis Cluster: its PSC discovery endpoint (a VPC address) and the cluster's own server CA.
    case "gcp:redis/cluster:Cluster":
      return {
        ...base,
        discoveryEndpoints: [{ address: `10.128.${(n >> 8) & 255}.${n & 255}`, port: 6379, pscConfig: { network: inputs["pscConfigs"] } }],
        managedServerCas: [{ caCerts: [{ certificates: [`-----BEGIN CERTIFICATE-----\nmock Memorystore CA of ${name}\n-----END CERTIFICATE-----`] }] }],
      };
    // Azure Managed Redis: the cluster's host name (<name>.<region>.redis.azure.net).
    case "azure-native:redisenterprise:RedisEnterprise":
      return { hostName: `${String(inputs["clusterName"] ?? name)}.${String(inputs["location"])}.redis.azure.net` };
    case "random:index/randomPassword:RandomPassword": {
      const length = typeof inputs["length"] === "number" ? inputs["length"] : 16;
      return { result: `Mock${name.replace(/[^A-Za-z0-9]/g, "")}${"x".repeat(length)}`.slice(0, length) };
    }
    // Workload identities: the ids the clouds assign, which bindings and annotations name.
    case "azure-native:managedidentity:UserAssignedIdentity": {
      const guid = (seed: string) =>
        createHash("sha256")
          .update(seed)
          .digest("hex")
          .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, "$1-$2-$3-$4-$5");
      return { name: inputs["resourceName"], principalId: guid(`principal ${name}`), clientId: guid(`client ${name}`), tenantId: guid("tenant") };
    }
    // IAM ARNs and pool names in the clouds' shapes: trust policies and federation configs name them.
    case "aws:iam/role:Role":
      return { ...base, arn: `arn:aws:iam::123456789012:role/${String(inputs["name"] ?? name)}` };
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
      return { ...base, arn: `arn:aws:iam::123456789012:oidc-provider/${String(inputs["url"]).replace(/^https:\/\//, "")}` };
    case "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
      return { ...base, name: `projects/123456789012/locations/global/workloadIdentityPools/${String(inputs["workloadIdentityPoolId"])}` };
    case "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
      return {
        ...base,
        name: `projects/123456789012/locations/global/workloadIdentityPools/${String(inputs["workloadIdentityPoolId"])}/providers/${String(inputs["workloadIdentityPoolProviderId"])}`,
      };
    case "gcp:serviceaccount/account:Account": {
      const email = `${String(inputs["accountId"])}@${String(inputs["project"])}.iam.gserviceaccount.com`;
      return { ...base, email, member: `serviceAccount:${email}`, name: `projects/${String(inputs["project"])}/serviceAccounts/${email}` };
    }
    case "gcp:compute/haVpnGateway:HaVpnGateway":
      return { ...base, vpnInterfaces: [0, 1].map((id) => ({ id, ipAddress: `35.242.${n & 255}.${id + 1}` })) };
    // DNS zones come back with their provider's nameservers (as many as each provider assigns; not numbered
    // by registration order, so a plan of one area equals the whole estate's).
    case "aws:route53/zone:Zone":
      return { ...base, nameServers: [0, 1, 2, 3].map((i) => `ns-${512 + i}.awsdns-${10 + i}.${["com", "net", "org", "co.uk"][i]}`) };
    case "gcp:dns/managedZone:ManagedZone":
      return { ...base, nameServers: [1, 2, 3, 4].map((i) => `ns-cloud-a${i}.googledomains.com.`) };
    case "azure-native:dns:Zone":
      return { nameServers: [1, 2, 3, 4].map((i) => `ns${i}-01.azure-dns.${["com", "net", "org", "info"][i - 1]}.`) };
    case "cloudflare:index/zone:Zone":
      return { nameServers: ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"] };
    // DNSSEC key-signing keys come back with their DS records, in each provider's own shape.
    case "aws:route53/keySigningKey:KeySigningKey":
      return { ...base, dsRecord: fakeDs(`route53 ${name}`), signingAlgorithmMnemonic: "ECDSAP256SHA256" };
    case "cloudflare:index/zoneDnssec:ZoneDnssec":
      return { ds: `example. 3600 IN DS ${fakeDs(`cloudflare ${name}`)}`, algorithm: "13", digestType: "2" };
    case "azure-native:dns:DnssecConfig": {
      const ds = fakeDs(`azure ${name}`);
      return {
        signingKeys: [
          {
            flags: 257,
            keyTag: Number(ds.split(" ")[0]),
            protocol: 3,
            securityAlgorithmType: 13,
            publicKey: "mock",
            delegationSignerInfo: [{ digestAlgorithmType: 2, digestValue: ds.split(" ")[3], record: ds }],
          },
        ],
      };
    }
    default:
      return base;
  }
}
