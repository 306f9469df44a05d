// The regional gateway: pods behind the `meridian-gateway` LoadBalancer Service, the public API routed to the
// runtime services, and every health signal path the DNS providers probe answered by the health aggregator.
// Evaluated for one region (and, for the probed paths, with the traffic area) under mocks — not the whole
// prod estate. The rendered objects are checked by their real consumers: the chart's values schema, Istio's
// CRD schemas, and the real `meridian health serve --config FILE` process run from the rendered ConfigMap.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byName, type Plan, type RecordedResource } from "../../harness.js";
import { GATEWAY, NAMESPACES, serviceFqdn } from "../../../model/estate.js";
import { gatewayDnsNames, GATEWAY_CERTIFICATE } from "../../../model/rotation/issuers.js";
import { GATEWAY_IDENTITY, istioPrincipal, podSelector, runtimeService, serviceHost, spiffeId } from "../../../model/services.js";
import { API_ROUTES, HEALTH_HOST, HEALTH_IDENTITY, healthAggregatorConfig } from "../../../model/workloads/gateway.js";
import { ledgerRegion } from "../../../model/workloads/config.js";
import { healthConfigSchema } from "../../../runtime/health/index.js";
import { MERIDIAN_BIN, REPO_ROOT, runCli } from "../../cli.js";
import { meshPolicies } from "../../../components/pki/mesh-tls.js";
import { authorized, type AuthzPolicy } from "../../model/security/authz-eval.js";
import { pinnedChart } from "../pki/pinned-charts.js";
import { validateCustomResource } from "../pki/schemas.js";
import { planGateways, type PartialPlan } from "./gateway-plan.js";
import { virtualService } from "../../../components/workloads/gateway-manifests.js";
import { SERVICE_ROUTES } from "../../../model/security/routes.js";

interface HttpRoute {
  name: string;
  match: { uri: { exact?: string; prefix?: string }; method?: { regex: string } }[];
  rewrite?: { uri: string };
  route?: { destination: { host: string; port: { number: number } } }[];
  directResponse?: { status: number };
}
interface Container {
  args: string[];
  ports: { containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: number } };
  livenessProbe: { httpGet: { path: string; port: number } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts: { name: string; mountPath: string }[];
  env: { name: string; value?: string }[];
}

const asPlan = (p: PartialPlan): Plan => ({ stack: "prod", resources: p.resources, outputs: {} });
const inputsOf = <T>(plan: Plan, type: string, name: string) => byName(plan, type, name).inputs as unknown as T;

let region: string;
let plan: Plan;
let spec: PartialPlan["spec"];
beforeAll(async () => {
  const probe = await planGateways("prod", { gateways: [] });
  region = ledgerRegion(probe.spec);
  const p = await planGateways("prod", { gateways: [region] });
  spec = p.spec;
  plan = asPlan(p);
}, 120_000);

const vs = () => inputsOf<{ spec: { hosts: string[]; gateways: string[]; http: HttpRoute[] } }>(plan, "kubernetes:networking.istio.io/v1:VirtualService", `${region}-gateway-virtualservice`);
const gatewayCr = () =>
  inputsOf<{
    metadata: { namespace: string };
    spec: { selector: Record<string, string>; servers: { port: { number: number; protocol: string }; hosts: string[]; tls: { mode: string; credentialName: string } }[] };
  }>(plan, "kubernetes:networking.istio.io/v1:Gateway", `${region}-gateway-gateway`);
const release = () =>
  inputsOf<{ name: string; chart: string; version: string; namespace: string; repositoryOpts: { repo: string }; values: Record<string, unknown> }>(
    plan,
    "kubernetes:helm.sh/v3:Release",
    `${region}-${GATEWAY.name}`,
  );
const lbService = () =>
  inputsOf<{ metadata: { namespace: string }; spec: { type: string; selector: Record<string, string>; ports: { port: number; targetPort: number }[] } }>(
    plan,
    "kubernetes:core/v1:Service",
    `${region}-${GATEWAY.name}`,
  );

describe("the gateway pods behind the meridian-gateway Service", () => {
  it("the Service's selector matches the pods the gateway chart runs, in the Service's namespace", () => {
    const svc = lbService();
    const r = release();
    expect(svc.spec.type).toBe("LoadBalancer");
    expect(r.namespace).toBe(svc.metadata.namespace);
    expect(r.name).toBe(GATEWAY.name);
    const podLabels = (r.values["labels"] ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(podLabels[k], `pod label ${k}`).toBe(v);
    // The chart's own LoadBalancer would be a second public address with no DNS record.
    expect(r.values["service"]).toEqual({ type: "None" });
  });

  it("Envoy listens on the Service's targetPort: the Gateway's server is the Service's port, selecting the same pods", () => {
    const svc = lbService();
    const gw = gatewayCr();
    const podLabels = (release().values["labels"] ?? {}) as Record<string, string>;
    expect(gw.metadata.namespace).toBe(svc.metadata.namespace);
    for (const [k, v] of Object.entries(gw.spec.selector)) expect(podLabels[k], `pod label ${k}`).toBe(v);
    // Istio binds a Gateway server on the targetPort of the selecting Service's port with that number.
    const port = svc.spec.ports.find((p) => p.port === gw.spec.servers[0]!.port.number);
    expect(port?.targetPort).toBe(GATEWAY.targetPort);
    // Unprivileged, so the pods need no sysctl and stay Pod Security `restricted`.
    expect(GATEWAY.targetPort).toBeGreaterThan(1024);
  });

  it("the pods run as the gateway's catalogued identity (the mesh admits it to the public routes)", () => {
    expect(release().values["serviceAccount"]).toMatchObject({ create: true, name: GATEWAY_IDENTITY.serviceAccount });
    expect(release().namespace).toBe(GATEWAY_IDENTITY.namespace);
  });

  it("the chart is a pinned, vendored chart and its values pass the chart's own values.schema.json", () => {
    const r = release();
    const pin = pinnedChart(r.repositoryOpts.repo, r.chart, r.version);
    expect(pin?.checkedBy).toBe("values.schema.json");
    expect(pin!.problems(r.values)).toEqual([]);
    // The check can fail.
    expect(pin!.problems({ ...r.values, podDisruptionBudget: { minAvailable: true } })).not.toEqual([]);
  });

  it("has replicas to spare: an autoscaler from two pods up and a disruption budget", () => {
    const v = release().values;
    expect(v["autoscaling"]).toMatchObject({ enabled: true });
    expect((v["autoscaling"] as { minReplicas: number }).minReplicas).toBeGreaterThanOrEqual(2);
    expect(v["podDisruptionBudget"]).toEqual({ minAvailable: 1 });
    expect(v["resources"]).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) } });
  });

  it("terminates the region's certificate for the names the certificate carries", () => {
    const server = gatewayCr().spec.servers[0]!;
    expect(server.port.protocol).toBe("HTTPS");
    expect(server.tls).toMatchObject({ mode: "SIMPLE", credentialName: GATEWAY_CERTIFICATE });
    expect(server.hosts.sort()).toEqual(
      gatewayDnsNames(
        spec,
        spec.regions.find((r) => r.id === region)!,
      ).sort(),
    );
    expect(vs().spec.hosts.sort()).toEqual(server.hosts.sort());
  });
});

describe("the routes", () => {
  it("every public API prefix goes to its service; read-only prefixes take GET and HEAD only, anything else is 405", () => {
    const http = vs().spec.http;
    for (const r of API_ROUTES) {
      const s = runtimeService(r.service);
      const routed = http.filter((h) => h.match.some((m) => m.uri.prefix === r.prefix) && h.route);
      expect(routed, r.prefix).toHaveLength(1);
      expect(routed[0]!.route).toEqual([{ destination: { host: serviceHost(s), port: { number: s.ports[0]!.port } } }]);
      expect(routed[0]!.rewrite, r.prefix).toEqual(r.rewrite === undefined ? undefined : { uri: r.rewrite });
      const methods = routed[0]!.match[0]!.method;
      if (r.methods === "read") {
        const re = new RegExp(methods!.regex);
        expect(["GET", "HEAD"].every((m) => re.test(m)) && !["POST", "PUT", "DELETE", "PATCH"].some((m) => re.test(m))).toBe(true);
        const refused = http.find((h) => h.match.some((m) => m.uri.prefix === r.prefix && !m.method));
        expect(refused?.directResponse?.status).toBe(405);
        expect(http.indexOf(refused!)).toBeGreaterThan(http.indexOf(routed[0]!));
      } else expect(methods).toBeUndefined();
    }
  });

  it("the rate limiter's public route is read-only: a check (POST /v1/ratelimit) from the internet is 405 at the gateway", () => {
    const http = vs().spec.http;
    // Envoy takes the first route whose match holds.
    const first = (method: string, path: string) => http.find((h) => h.match.some((m) => path.startsWith(m.uri.prefix ?? "\0") && (!m.method || new RegExp(m.method.regex).test(method))));
    for (const m of ["POST", "PUT", "DELETE", "PATCH"]) {
      const r = first(m, "/v1/ratelimit");
      expect(r?.route, m).toBeUndefined();
      expect(r?.directResponse?.status, m).toBe(405);
    }
    expect(first("GET", "/v1/ratelimit/status")?.route?.[0]?.destination.host).toBe(serviceHost(runtimeService("ratelimit")));
  });

  it("routes only to services the region runs: no monitor route where the stack names no log key", () => {
    const without = { ...spec, runtime: { ...spec.runtime, prooflog: { ...spec.runtime.prooflog, verifierKey: undefined } } };
    const prefixes = (sp: typeof spec) => (virtualService(sp, region).spec as { http: HttpRoute[] }).http.flatMap((h) => h.match.map((m) => m.uri.prefix));
    expect(prefixes(spec)).toContain("/monitor/");
    expect(prefixes(without)).not.toContain("/monitor/");
    expect(prefixes(without)).toContain("/proof/");
  });

  it("the mesh admits what the gateway forwards and what the aggregator asks (an AuthorizationPolicy would answer 403)", () => {
    const policies = meshPolicies(spec).filter((p) => p.kind === "AuthorizationPolicy") as unknown as AuthzPolicy[];
    const td = spec.pki.trustDomain;
    const admitted = (who: { namespace: string; serviceAccount: string }, name: Parameters<typeof runtimeService>[0], method: string, path: string) => {
      const s = runtimeService(name);
      return authorized(policies, { namespace: s.namespace, labels: podSelector(s), principal: istioPrincipal(spiffeId(td, who)), port: s.ports[0]!.port, method, path });
    };
    for (const r of API_ROUTES) {
      // The service's sidecar sees the path after the gateway's rewrite; every prefix is also tried with the
      // service's own public paths under it (ratelimit's read-only prefix admits only /domains and /status).
      const target = r.rewrite ?? r.prefix;
      const own = SERVICE_ROUTES[r.service].public.flatMap((rule) => rule.paths.map((p) => p.replace(/\*$/, "x"))).filter((p) => p.startsWith(target));
      const paths = [target, target.endsWith("/") ? `${target}x` : `${target}/x`, ...own];
      const methods = r.methods === "read" ? ["GET", "HEAD"] : ["GET", "POST", "DELETE"];
      expect(
        paths.some((p) => methods.some((m) => admitted(GATEWAY_IDENTITY, r.service, m, p))),
        `${r.prefix} → ${r.service}`,
      ).toBe(true);
    }
    for (const s of healthAggregatorConfig(spec, region).signals) {
      for (const p of s.probes) {
        if (p.name === "replication") continue; // the monitor is not deployed yet (docs/deploy.md, Not yet)
        expect(admitted(HEALTH_IDENTITY, p.name as Parameters<typeof runtimeService>[0], "GET", new URL(p.url).pathname), `${s.name}: ${p.url}`).toBe(true);
      }
    }
    // The monitor's evidence and gossip are public (gossip verifies under the log's key before it counts).
    expect(admitted(GATEWAY_IDENTITY, "monitor", "GET", "/v1/evidence")).toBe(true);
    expect(admitted(GATEWAY_IDENTITY, "monitor", "POST", "/v1/gossip")).toBe(true);
    // The check can fail: the aggregator may not call the API, nor the gateway an internal service.
    expect(admitted(HEALTH_IDENTITY, "escrow", "POST", "/v1/inventory/x")).toBe(false);
    expect(admitted(GATEWAY_IDENTITY, "clock", "GET", "/readyz")).toBe(false);
  });

  it("Gateway and VirtualService validate against Istio's CRD schemas, with unknown fields refused", () => {
    for (const cr of [gatewayCr(), vs()]) {
      const type = cr === vs() ? "VirtualService" : "Gateway";
      const obj = { apiVersion: "networking.istio.io/v1", kind: type, ...cr };
      expect(() => validateCustomResource(obj)).not.toThrow();
      expect(strictIstioProblems(type, obj)).toEqual([]);
    }
    // The checks can fail: a misspelt field, a wrong type.
    const typo = structuredClone(vs()) as unknown as { spec: { http: Record<string, unknown>[] } };
    typo.spec.http[0]!["rewite"] = { uri: "/x" };
    expect(strictIstioProblems("VirtualService", { apiVersion: "networking.istio.io/v1", kind: "VirtualService", ...typo }).join()).toContain("rewite");
    const wrong = structuredClone(gatewayCr()) as { spec: { servers: { port: { number: unknown } }[] } };
    wrong.spec.servers[0]!.port.number = "443";
    expect(() => validateCustomResource({ apiVersion: "networking.istio.io/v1", kind: "Gateway", ...wrong })).toThrow();
  });
});

describe("the health aggregator", () => {
  const deployment = () =>
    inputsOf<{
      metadata: { namespace: string };
      spec: {
        replicas: number;
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: Container[]; volumes: { name: string; configMap?: { name: string } }[] } };
      };
    }>(plan, "kubernetes:apps/v1:Deployment", `${region}-meridian-health-deployment`);

  it("propagates the HLC at the edge: the pod's environment carries the estate's max offset, which turns on the kit's default HLC", () => {
    const env = Object.fromEntries(deployment().spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ MERIDIAN_HLC_MAX_OFFSET_MS: String(spec.time.maxOffsetMs), MERIDIAN_HLC_HTTP_HEADER: "x-meridian-hlc" });
  });

  it("runs `meridian health serve --config` on its mounted ConfigMap, with probes, resources and a disruption budget", () => {
    const d = deployment();
    const c = d.spec.template.spec.containers[0]!;
    expect(c.args.slice(0, 3)).toEqual(["health", "serve", "--config"]);
    const file = c.args[3]!;
    const volume = d.spec.template.spec.volumes.find((v) => v.configMap)!;
    const mount = c.volumeMounts.find((m) => m.name === volume.name)!;
    expect(file.startsWith(`${mount.mountPath}/`)).toBe(true);
    const cm = inputsOf<{ metadata: { name: string }; data: Record<string, string> }>(plan, "kubernetes:core/v1:ConfigMap", `${region}-meridian-health-config`);
    expect(cm.metadata.name).toBe(volume.configMap!.name);
    expect(() => healthConfigSchema.parse(JSON.parse(cm.data[file.slice(mount.mountPath.length + 1)]!))).not.toThrow();
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: c.ports[0]!.containerPort });
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
    const pdb = inputsOf<{ spec: { selector: { matchLabels: Record<string, string> } } }>(plan, "kubernetes:policy/v1:PodDisruptionBudget", `${region}-meridian-health-pdb`);
    expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
    const svc = inputsOf<{ metadata: { name: string; namespace: string }; spec: { selector: Record<string, string>; ports: { port: number }[] } }>(
      plan,
      "kubernetes:core/v1:Service",
      `${region}-meridian-health-service`,
    );
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(d.spec.template.metadata.labels[k]).toBe(v);
    expect(`${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`).toBe(HEALTH_HOST);
    expect(svc.metadata.namespace).toBe(NAMESPACES.gateway);
  });
});

// ---- every probed path, answered by the real process --------------------------------------------------

/** The paths and Host names the DNS providers' health checks send, read off the plan's health-check resources. */
function probedByProviders(resources: RecordedResource[]): { paths: Set<string>; hosts: Set<string>; checks: number } {
  const paths = new Set<string>();
  const hosts = new Set<string>();
  let checks = 0;
  for (const r of resources) {
    const i = r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    let path: string | undefined;
    if (r.type === "aws:route53/healthCheck:HealthCheck" && i["type"] !== "CALCULATED") {
      path = i["resourcePath"];
      if (i["fqdn"]) hosts.add(i["fqdn"]);
    } else if (r.type === "gcp:compute/healthCheck:HealthCheck") {
      const c = i["httpsHealthCheck"] ?? i["httpHealthCheck"];
      path = c?.requestPath;
      if (c?.host) hosts.add(c.host);
    } else if (r.type === "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor") {
      path = i["path"];
      for (const h of i["header"]?.["Host"] ?? i["header"]?.["host"] ?? []) hosts.add(h);
    } else if (r.type === "azure-native:trafficmanager:Profile") {
      path = i["monitorConfig"]?.path;
      for (const h of i["monitorConfig"]?.customHeaders ?? []) if (String(h.name).toLowerCase() === "host") hosts.add(h.value);
    } else continue;
    checks += 1;
    if (path) paths.add(path);
  }
  return { paths, hosts, checks };
}

describe("every path the DNS providers' health checks probe, through the rendered routes to the real aggregator", () => {
  const root = mkdtempSync(join(tmpdir(), "gateway-health-"));
  const children: ChildProcess[] = [];
  let upstream: Server;
  /** Fake upstreams: `/<probe name>/<path>` answers 200, or 503 while the probe is listed as failing. */
  const failing = new Set<string>();
  let withTraffic: PartialPlan;
  let aggregator: string;
  let config: { signals: { name: string; path: string; probes: { name: string; url: string }[] }[] };
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    upstream?.close();
    rmSync(root, { recursive: true, force: true });
  });

  beforeAll(async () => {
    withTraffic = await planGateways("prod", { gateways: [region], traffic: true });
    upstream = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? "/").split("/")[1] ?? "");
      res.statusCode = failing.has(name) ? 503 : 200;
      res.end(failing.has(name) ? `${name} not ready` : "ok");
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    // The rendered ConfigMap, with each probe's cluster address swapped for a local stand-in of that service.
    const cm = byName(asPlan(withTraffic), "kubernetes:core/v1:ConfigMap", `${region}-meridian-health-config`).inputs as { data: Record<string, string> };
    const d = byName(asPlan(withTraffic), "kubernetes:apps/v1:Deployment", `${region}-meridian-health-deployment`).inputs as { spec: { template: { spec: { containers: Container[] } } } };
    const args = d.spec.template.spec.containers[0]!.args;
    const [file] = Object.keys(cm.data);
    config = JSON.parse(cm.data[file!]!) as typeof config;
    for (const s of config.signals) for (const p of s.probes) p.url = `${base}/${encodeURIComponent(p.name)}${new URL(p.url).pathname}`;
    const path = join(root, file!);
    writeFileSync(path, JSON.stringify(config));
    const local = args.map((a, i) => (args[i - 1] === "--config" ? path : args[i - 1] === "--port" ? "0" : args[i - 1] === "--host" ? "127.0.0.1" : a));
    const child = spawn(process.execPath, [MERIDIAN_BIN, ...local], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    aggregator = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
      child.on("exit", (code) => reject(new Error(`meridian health serve exited ${code}: ${err}${out}`)));
    });
  }, 120_000);

  /** What the gateway does with a probed path: the VirtualService's exact match, rewritten to the aggregator. */
  function throughGateway(path: string): string {
    const routes = (byName(asPlan(withTraffic), "kubernetes:networking.istio.io/v1:VirtualService", `${region}-gateway-virtualservice`).inputs as { spec: { http: HttpRoute[] } }).spec.http;
    const route = routes.find((h) => h.match.some((m) => m.uri.exact === path));
    if (!route) throw new Error(`no gateway route for ${path}`);
    expect(route.route).toEqual([{ destination: { host: HEALTH_HOST, port: { number: expect.any(Number) } } }]);
    return route.rewrite!.uri;
  }

  it("the providers probe with a Host the gateway serves", () => {
    const { hosts, checks } = probedByProviders(withTraffic.resources);
    expect(checks).toBeGreaterThan(3);
    expect(hosts.size).toBeGreaterThan(0);
    for (const h of hosts) expect([serviceFqdn(spec), ...vs().spec.hosts]).toContain(h);
  });

  it("every probed path answers 200 while every upstream is ready, and 503 while any one of its upstreams is not", async () => {
    const { paths } = probedByProviders(withTraffic.resources);
    expect(paths.size).toBeGreaterThanOrEqual(4);
    for (const path of paths) {
      failing.clear();
      const url = `${aggregator}${throughGateway(path)}`;
      expect((await fetch(url)).status, `${path} (all ready)`).toBe(200);
      const signal = config.signals.find((s) => s.path === path)!;
      if (signal.probes.length === 0) {
        // The gateway's own signal: reaching it is the signal.
        expect(signal.name).toBe("gateway");
        continue;
      }
      for (const probe of signal.probes) {
        failing.clear();
        failing.add(probe.name);
        const r = await fetch(url);
        expect(r.status, `${path} with ${probe.name} not ready`).toBe(503);
        expect(JSON.stringify(await r.json())).toContain(probe.name);
      }
    }
    failing.clear();
  }, 60_000);

  it("a path no route serves is caught (the check can fail)", () => {
    expect(() => throughGateway("/healthz/nothing")).toThrow(/no gateway route/);
  });
});

// ---- strict CRD validation ----------------------------------------------------------------------------

/**
 * @kubernetes-models/istio's validators (validateCustomResource) leave objects open; the API server with
 * strict field validation refuses unknown fields. This reads the same CRD schema out of the package and
 * closes every object that lists its properties, as crd-schemas.ts does for the vendored CRDs.
 */
function strictIstioProblems(kind: "Gateway" | "VirtualService", obj: Record<string, unknown>): string[] {
  const require = createRequire(import.meta.url);
  const text = readFileSync(require.resolve(`@kubernetes-models/istio/networking.istio.io/v1beta1/${kind}`), "utf8");
  const start = text.indexOf("const schema = ") + "const schema = ".length;
  const schema = JSON.parse(text.slice(start, text.indexOf("};\n", start) + 1)) as Record<string, unknown>;
  const close = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(close);
    if (typeof s !== "object" || s === null) return s;
    const o = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([p, x]) => [p, close(x)])) : close(v)]));
    if (o["properties"] && o["additionalProperties"] === undefined && !o["x-kubernetes-preserve-unknown-fields"]) o["additionalProperties"] = false;
    return o;
  };
  const closed = close(schema) as { properties: Record<string, unknown> };
  closed.properties["metadata"] = { type: "object" };
  closed.properties["apiVersion"] = { type: "string" };
  const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(closed);
  if (validate(obj)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || "/"}: ${e.message}${e.keyword === "additionalProperties" ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : ""}`,
  );
}

describe("meridian health serve", () => {
  it("refuses a config file that is not the aggregator's, naming the key (exit 2)", () => {
    const dir = mkdtempSync(join(tmpdir(), "health-bad-"));
    try {
      const file = join(dir, "health.json");
      writeFileSync(file, JSON.stringify({ region: "r1", signals: [{ name: "escrow", path: "healthz/escrow", probes: [] }] }));
      const r = runCli(["health", "serve", "--config", file, "--port", "0"]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/signals\.0\.path/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
