// Identity inside the mesh: the prod plan renders the kit services' configs to trust their own Istio sidecar's
// x-forwarded-client-cert (server.identity.xfcc, with the pod's own SPIFFE ID and the operator identity), the rate
// limiter with the callers its routes need, and a STRICT PeerAuthentication for each of those workloads; the plan
// check (components/pki/xfcc-trust.ts), run here on the objects the plan recorded, passes on them and refuses
// every unsound variation: a non-STRICT port, a port outside the sidecar's capture, no sidecar, the host network,
// a NetworkPolicy admitting the port from outside the mesh, a config trusting another pod's sidecar.
import { beforeAll, describe, expect, it } from "vitest";
import { byName, evaluateStack, ofType, type Plan, type RecordedResource } from "../../harness.js";
import { buildEstateSpec, NAMESPACES } from "../../../model/estate.js";
import { regionWorkloads } from "../../../model/workloads/spec.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { GATEWAY_IDENTITY, OPERATOR_IDENTITY, regionIdentity, runtimeService, spiffeId } from "../../../model/services.js";
import type { NetworkPolicyShape } from "../../../model/security/network.js";
import { assertXfccTrustSound, XfccTrustError, xfccTrustProblems, type PeerAuthenticationLike, type XfccTrustInputs, type XfccWorkload } from "../../../components/pki/xfcc-trust.js";
import { serverConfigSchema } from "../../../runtime/kit/index.js";
import { ratelimitConfigSchema } from "../../../runtime/ratelimit/service/service.js";
import { validateCustomResource } from "./schemas.js";
import { grandmasterService } from "../../../runtime/clock/index.js";
import { startService } from "../../../runtime/kit/index.js";

const REGION = "aws-euw1";
const TD = "prod.meridian.internal";
const inputsOf = (r: RecordedResource) => r.inputs as Record<string, unknown>;
const clone = <T>(x: T): T => structuredClone(x);

let plan: Plan;
let base: XfccTrustInputs;

/** The check's inputs for one region, read from the recorded plan (not rebuilt from the model). */
function fromPlan(p: Plan, region: string): XfccTrustInputs {
  const mine = (r: RecordedResource) => r.name.startsWith(`${region}-`);
  const meta = (r: RecordedResource) => inputsOf(r)["metadata"] as { name: string; namespace?: string; labels?: Record<string, string> };
  const configs = new Map(
    ofType(p, "kubernetes:core/v1:ConfigMap")
      .filter(mine)
      .map((r) => [`${meta(r).namespace}/${meta(r).name}`, inputsOf(r)["data"] as Record<string, string>]),
  );
  const controllers = [...ofType(p, "kubernetes:apps/v1:Deployment"), ...ofType(p, "kubernetes:apps/v1:StatefulSet")]
    .filter(mine)
    .filter((r) => meta(r).namespace === NAMESPACES.runtime || meta(r).namespace === NAMESPACES.time);
  return {
    trustDomain: TD,
    meshRootNamespace: NAMESPACES.istio,
    namespaces: ofType(p, "kubernetes:core/v1:Namespace")
      .filter(mine)
      .map((r) => ({ name: meta(r).name, labels: { "kubernetes.io/metadata.name": meta(r).name, ...meta(r).labels } })),
    workloads: controllers.map((r) => {
      const pod = (inputsOf(r)["spec"] as { template: XfccWorkload["pod"] }).template;
      const volumes = (pod.spec as { volumes?: { configMap?: { name: string } }[] }).volumes ?? [];
      const config = Object.assign({}, ...volumes.filter((v) => v.configMap).map((v) => configs.get(`${meta(r).namespace}/${v.configMap!.name}`) ?? {})) as Record<string, string>;
      return { name: meta(r).name, namespace: meta(r).namespace!, config, pod };
    }),
    peerAuthentications: ofType(p, "kubernetes:security.istio.io/v1:PeerAuthentication")
      .filter(mine)
      .map((r) => inputsOf(r) as unknown as PeerAuthenticationLike),
    networkPolicies: ofType(p, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .filter(mine)
      .map((r) => inputsOf(r) as unknown as NetworkPolicyShape),
    meshProxyConfig: (inputsOf(byName(p, "kubernetes:helm.sh/v3:Release", `${region}-istiod`))["values"] as { meshConfig: { defaultConfig: Record<string, unknown> } }).meshConfig.defaultConfig,
  };
}

const workload = (i: XfccTrustInputs, name: string) => i.workloads.find((w) => w.name === name)!;
const configOf = (i: XfccTrustInputs, name: string, file: string) => JSON.parse(workload(i, name).config[file]!) as Record<string, unknown> & { server: Record<string, unknown> };

beforeAll(async () => {
  plan = await evaluateStack("prod", { areas: ["pki", "security", "replication", "workloads", "time"] });
  base = fromPlan(plan, REGION);
}, 120_000);

describe("the rendered runtime configs", () => {
  it("ratelimit, quota, clock and escrow trust their own sidecar, name the operator identity, and parse with the kit's schema", () => {
    for (const [name, file] of [
      ["ratelimit", "ratelimit.json"],
      ["quota", "quota.json"],
      ["clock", "clock.json"],
      ["escrow", "escrow.json"],
    ] as const) {
      const cfg = configOf(base, name, file);
      // The rate limiter runs as its region's own account (one identity per region).
      expect(cfg.server["identity"], name).toEqual({ xfcc: "istio-sidecar", spiffeId: spiffeId(TD, regionIdentity(runtimeService(name), REGION)) });
      expect(cfg.server["auth"], name).toMatchObject({ operators: { spiffe: [spiffeId(TD, OPERATOR_IDENTITY)] } });
      const server = serverConfigSchema.parse(cfg.server);
      expect(server.identity?.spiffeId).toBe(`spiffe://${TD}/ns/meridian/sa/${name === "ratelimit" ? `ratelimit-${REGION}` : name}`);
    }
    // Where the stack names the tenants' JWT issuer (staging), quota keeps it beside the mesh identity.
    const staging = buildEstateSpec("staging", parseEstateConfig(readStackConfigMap("staging"), "staging"));
    const quota = regionWorkloads(staging, staging.regions[0]!.id).find((w) => w.service.name === "quota")!;
    const server = serverConfigSchema.parse((JSON.parse(quota.config["quota.json"]!) as { server: unknown }).server);
    expect(server.auth.jwt?.issuer).toBe(staging.runtime.quota.identity!.issuer);
    expect(server.identity?.spiffeId).toBe(spiffeId(staging.pki.trustDomain, runtimeService("quota")));
    // The grandmaster (time namespace) too: its drills are operator routes.
    const gm = configOf(base, "grandmaster", "grandmaster.json");
    expect(gm.server["identity"]).toEqual({ xfcc: "istio-sidecar", spiffeId: `spiffe://${TD}/ns/meridian-time/sa/grandmaster` });
    // The proof log takes appends from its submitters alone, the peers its own sidecar verified (the services that append, each as itself).
    const log = configOf(base, "prooflog", "prooflog.json");
    expect(log.server["identity"]).toEqual({ xfcc: "istio-sidecar", spiffeId: spiffeId(TD, runtimeService("prooflog")) });
    expect(log["submitters"]).toEqual([
      { spiffe: spiffeId(TD, runtimeService("escrow")), actors: "self" },
      { spiffe: spiffeId(TD, runtimeService("quota")), actors: "principals" },
      { spiffe: spiffeId(TD, runtimeService("attest")), actors: "self" },
      { spiffe: spiffeId(TD, runtimeService("map")), actors: "self" },
    ]);
    // Escrow's buyers and admins must come through its catalogued callers: the gateway and the other regions' escrow.
    expect(configOf(base, "escrow", "escrow.json")["callers"]).toEqual([spiffeId(TD, GATEWAY_IDENTITY), spiffeId(TD, runtimeService("escrow"))].sort());
  });

  it("the rate limiter lists the callers of its check and outcomes routes: the gateway and the catalogued services", () => {
    const { server: _, ...service } = configOf(base, "ratelimit", "ratelimit.json");
    const parsed = ratelimitConfigSchema.parse(service);
    // The other rate limiters by each region's own identity.
    const limiters = buildEstateSpec("prod", parseEstateConfig(readStackConfigMap("prod"), "prod")).regions.map((r) => spiffeId(TD, regionIdentity(runtimeService("ratelimit"), r.id)));
    expect(parsed.callers).toEqual([spiffeId(TD, GATEWAY_IDENTITY), spiffeId(TD, runtimeService("escrow")), ...limiters].sort());
  });

  it("each XFCC-trusting workload has its own STRICT PeerAuthentication, valid against Istio's CRD", () => {
    for (const name of ["ratelimit", "quota", "clock", "escrow", "prooflog", "grandmaster"]) {
      const pa = base.peerAuthentications.find((p) => p.metadata.name === `${name}-strict`);
      expect(pa?.spec, name).toEqual({ selector: { matchLabels: name === "grandmaster" ? { app: name } : { "app.kubernetes.io/name": name } }, mtls: { mode: "STRICT" } });
      expect(() => validateCustomResource(pa as unknown as { apiVersion: string; kind: string })).not.toThrow();
    }
    expect(() =>
      validateCustomResource({
        ...(base.peerAuthentications[0] as unknown as { apiVersion: string; kind: string }),
        spec: { selector: { matchLabels: { a: "b" } }, portLevelMtls: { "8080": { mode: "STRICTLY" } } },
      }),
    ).toThrow();
  });
});

describe("the plan check", () => {
  it("passes on what the prod plan renders, in every region", () => {
    expect(base.workloads.map((w) => w.name)).toEqual(expect.arrayContaining(["escrow", "ratelimit", "prooflog", "clock", "quota", "grandmaster"]));
    expect(xfccTrustProblems(base)).toEqual([]);
    for (const region of ["aws-use1", "gcp-asne1"]) expect(xfccTrustProblems(fromPlan(plan, region)), region).toEqual([]);
  });

  const refuse = (mutate: (i: XfccTrustInputs) => void, why: RegExp) => {
    const i = clone(base);
    mutate(i);
    const problems = xfccTrustProblems(i);
    expect(problems.join("\n")).toMatch(why);
    expect(() => assertXfccTrustSound(i)).toThrow(XfccTrustError);
  };

  it("refuses a port whose effective mTLS is not STRICT", () => {
    refuse((i) => {
      i.peerAuthentications = i.peerAuthentications.filter((p) => p.metadata.name !== "ratelimit-strict");
      i.peerAuthentications.find((p) => p.metadata.name === "default")!.spec = { mtls: { mode: "PERMISSIVE" } };
    }, /meridian\/ratelimit: port 8080 takes PERMISSIVE mTLS/);
    refuse((i) => {
      i.peerAuthentications.find((p) => p.metadata.name === "quota-strict")!.spec!.portLevelMtls = { "8080": { mode: "DISABLE" } };
    }, /meridian\/quota: port 8080 takes DISABLE mTLS/);
    // No PeerAuthentication at all: Istio's default is PERMISSIVE.
    refuse((i) => void (i.peerAuthentications = []), /clock: port 8080 takes PERMISSIVE/);
  });

  it("refuses a port outside the sidecar's capture, a pod without a sidecar, and the host network", () => {
    refuse((i) => void (workload(i, "ratelimit").pod.metadata!.annotations!["traffic.sidecar.istio.io/excludeInboundPorts"] = "9000,8081"), /port 8081 is excluded from the sidecar's inbound capture/);
    refuse(
      (i) => void (workload(i, "ratelimit").pod.metadata!.annotations!["traffic.sidecar.istio.io/includeInboundPorts"] = "8080"),
      /port 8081 is not in traffic.sidecar.istio.io\/includeInboundPorts/,
    );
    refuse((i) => void (workload(i, "clock").pod.metadata!.labels!["sidecar.istio.io/inject"] = "false"), /clock: the pod opts out of sidecar injection/);
    refuse((i) => void (i.namespaces.find((n) => n.name === NAMESPACES.runtime)!.labels["istio-injection"] = "disabled"), /namespace meridian is not labelled istio-injection=enabled/);
    refuse((i) => void (workload(i, "quota").pod.spec!.hostNetwork = true), /quota: the pod is on the host network/);
    refuse((i) => void (workload(i, "clock").pod.metadata!.annotations!["sidecar.istio.io/interceptionMode"] = "NONE"), /clock: sidecar.istio.io\/interceptionMode NONE/);
    refuse((i) => void (workload(i, "grandmaster").pod.metadata!.annotations!["traffic.sidecar.istio.io/excludeInboundPorts"] = "10124"), /meridian-time\/grandmaster: port 10124 is excluded/);
    // Istio captures TCP only: a UDP port out of capture says nothing about XFCC.
    const udp = clone(base);
    workload(udp, "clock").pod.spec!.containers![0]!.ports!.push({ containerPort: 1123, protocol: "UDP" });
    workload(udp, "clock").pod.metadata!.annotations!["traffic.sidecar.istio.io/excludeInboundPorts"] = "1123";
    expect(xfccTrustProblems(udp)).toEqual([]);
  });

  it("refuses a sidecar told to forward the caller's header as it came, mesh-wide or per pod", () => {
    refuse(
      (i) => void (i.meshProxyConfig = { ...i.meshProxyConfig, proxyHeaders: { forwardedClientCert: "ALWAYS_FORWARD_ONLY" } }),
      /meshConfig.defaultConfig sets proxyHeaders.forwardedClientCert ALWAYS_FORWARD_ONLY/,
    );
    refuse(
      (i) => void (workload(i, "ratelimit").pod.metadata!.annotations!["proxy.istio.io/config"] = "proxyHeaders:\n  forwardedClientCert: FORWARD_ONLY\n"),
      /ratelimit: proxy.istio.io\/config sets proxyHeaders.forwardedClientCert FORWARD_ONLY/,
    );
    const setting = clone(base);
    setting.meshProxyConfig = { ...setting.meshProxyConfig, proxyHeaders: { forwardedClientCert: "SANITIZE_SET" } };
    expect(xfccTrustProblems(setting)).toEqual([]);
  });

  it("refuses NetworkPolicies that let anything outside the mesh reach an app port", () => {
    const allow = (i: XfccTrustInputs, name: string) => i.networkPolicies.find((p) => p.metadata.namespace === NAMESPACES.runtime && p.metadata.name === name)!;
    refuse(
      (i) => void allow(i, "allow-ratelimit").spec.ingress!.push({ from: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ protocol: "TCP", port: 8080 }] }),
      /allow-ratelimit ingress\[\d\] admits port 8080 from ipBlock 10\.0\.0\.0\/8/,
    );
    refuse((i) => void allow(i, "allow-clock").spec.ingress!.push({ ports: [{ protocol: "TCP", port: 8080 }] }), /allow-clock ingress\[\d\] admits port 8080 from anywhere/);
    refuse(
      (i) => void allow(i, "allow-quota").spec.ingress!.push({ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": NAMESPACES.monitoring } } }] }),
      /admits port 8080 from namespaces without sidecars \(monitoring\)/,
    );
    refuse(
      (i) => void (i.networkPolicies = i.networkPolicies.filter((p) => !(p.metadata.namespace === NAMESPACES.runtime && p.metadata.name === "default-deny"))),
      /namespace meridian has no default-deny ingress NetworkPolicy/,
    );
  });

  it("refuses a config that trusts another pod's sidecar", () => {
    refuse((i) => {
      const w = workload(i, "clock");
      const cfg = JSON.parse(w.config["clock.json"]!) as { server: { identity: { spiffeId: string } } };
      cfg.server.identity.spiffeId = spiffeId(TD, runtimeService("escrow"));
      w.config["clock.json"] = JSON.stringify(cfg);
    }, /clock: clock\.json trusts the sidecar of spiffe:\/\/prod\.meridian\.internal\/ns\/meridian\/sa\/escrow, but the pod's SPIFFE ID is .*\/sa\/clock/);
  });

  it("says nothing about workloads that do not trust XFCC, however exposed", () => {
    const i = clone(base);
    for (const w of i.workloads) for (const f of Object.keys(w.config)) if (w.config[f]!.includes('"identity"')) delete w.config[f];
    i.peerAuthentications = [];
    expect(xfccTrustProblems(i)).toEqual([]);
  });
});

describe("the rendered grandmaster config on the real service", () => {
  it("the operator's identity, as the grandmaster's sidecar reports it, runs a drill; other callers and foreign headers do not", async () => {
    const file = JSON.parse(workload(base, "grandmaster").config["grandmaster.json"]!) as { server: Record<string, unknown> };
    const gm = await startService(grandmasterService, { ntp: { port: 0 }, server: { ...file.server, port: 0 } }, { processMetrics: false });
    try {
      const self = `spiffe://${TD}/ns/meridian-time/sa/grandmaster`;
      const drill = (xfcc?: string) =>
        fetch(`${gm.url}/drills/inflate`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(xfcc ? { "x-forwarded-client-cert": xfcc } : {}) },
          body: JSON.stringify({ epsilonMs: 5, durationSeconds: 1 }),
        });
      const from = (uri: string, by = self) => `By=${by};Hash=${"0".repeat(64)};Subject="";URI=${uri}`;
      expect((await drill()).status).toBe(401);
      expect((await drill(from(spiffeId(TD, GATEWAY_IDENTITY)))).status).toBe(403);
      expect((await drill(from(spiffeId(TD, OPERATOR_IDENTITY), spiffeId(TD, runtimeService("clock"))))).status).toBe(401);
      expect((await drill(from(spiffeId(TD, OPERATOR_IDENTITY)))).status).toBe(200);
    } finally {
      await gm.close();
    }
  });
});
