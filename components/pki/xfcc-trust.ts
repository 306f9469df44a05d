/**
 * The plan-time check behind `server.identity.xfcc` (model/security/mesh-identity.ts): a service that trusts its
 * sidecar's `x-forwarded-client-cert` is sound only if the last element of that header is always written by the
 * pod's own sidecar. Istio's inbound sidecar appends the verified peer on mTLS connections (APPEND_FORWARD) and
 * forwards the header untouched otherwise, so every connection to the app's ports must reach it through the
 * sidecar, over mTLS. For every rendered config that asks for XFCC trust this refuses the plan unless:
 *   - the config's own SPIFFE ID is the pod's (trust domain, namespace, service account): the `By=` it expects;
 *   - the pod gets a sidecar: its namespace is labelled `istio-injection=enabled` and the pod does not opt out;
 *   - the pod is not on the host network, and no annotation takes an app port out of inbound capture
 *     (`traffic.sidecar.istio.io/excludeInboundPorts`, a narrower `includeInboundPorts`, interceptionMode NONE);
 *   - neither istiod's mesh-wide ProxyConfig nor the pod's `proxy.istio.io/config` makes the sidecar forward a
 *     caller's header as it came (proxyHeaders.forwardedClientCert other than APPEND_FORWARD / SANITIZE_SET);
 *   - the effective PeerAuthentication on every app port is STRICT (workload policy, its portLevelMtls, the
 *     namespace's, the mesh root's — Istio's precedence; no policy at all is PERMISSIVE);
 *   - the namespace denies ingress by default, and every NetworkPolicy rule that admits an app port names its
 *     sources, each a pod or namespace selector resolving only to sidecar-injected namespaces (no ipBlock, no
 *     "from anywhere"), so nothing outside the mesh is even routed to the port. The east-west gateway's pods (a
 *     multi-cluster stack) count as mesh: AUTO_PASSTHROUGH forwards the calling region's sidecar mTLS untouched.
 * Pure: the PKI area runs it on the objects the plan renders; tests run it on the recorded plan.
 */
import { parse as parseYaml } from "yaml";
import { EAST_WEST_GATEWAY } from "../../model/mesh/multi-primary.js";
import { NAMESPACES, type EstateSpec, type NamespaceRole, type Region } from "../../model/estate.js";
import { regionNetworkInputs, regionNetworkPolicies, type NetworkPolicyShape } from "../../model/security/network.js";
import { xfccTrustOf } from "../../model/security/mesh-identity.js";
import { SPIRE_SERVER_IDENTITY } from "../../model/services.js";
import { namespaceSecurityLabels } from "../../model/security/posture.js";
import { regionWorkloads } from "../../model/workloads/spec.js";
import { regionTimePlan } from "../../model/time/hierarchy.js";
import { grandmasterConfig, grandmasterPodTemplate } from "../time/grandmaster.js";
import { workloadManifests } from "../workloads/manifests.js";
import { istiodValues, meshPolicies } from "./mesh-tls.js";

export interface NamespaceLike {
  name: string;
  labels: Record<string, string>;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}

/** A workload as rendered: its config files and its pod template. */
export interface XfccWorkload {
  name: string;
  namespace: string;
  config: Record<string, string>;
  pod: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: { serviceAccountName?: string; hostNetwork?: boolean; containers?: { ports?: { containerPort: number; protocol?: string }[] }[] };
  };
}

export interface PeerAuthenticationLike {
  kind: string;
  metadata: { name?: string; namespace?: string };
  spec?: { selector?: Selector; mtls?: { mode?: string }; portLevelMtls?: Record<string, { mode?: string }> };
}

export interface XfccTrustInputs {
  trustDomain: string;
  /** Istio's root namespace: a selector-less PeerAuthentication there applies mesh-wide. */
  meshRootNamespace: string;
  namespaces: NamespaceLike[];
  workloads: XfccWorkload[];
  peerAuthentications: PeerAuthenticationLike[];
  networkPolicies: NetworkPolicyShape[];
  /** istiod's `meshConfig.defaultConfig` (the mesh-wide ProxyConfig), which can change what sidecars do with XFCC. */
  meshProxyConfig: Record<string, unknown>;
}

/**
 * What an inbound sidecar may do with XFCC for the check to hold: append the peer (APPEND_FORWARD, Istio's default for
 * sidecars) or replace the header with it (SANITIZE_SET). FORWARD_ONLY and ALWAYS_FORWARD_ONLY pass a caller's header on
 * unchanged, and SANITIZE drops it (no caller would ever be known).
 */
const SOUND_XFCC_MODES = new Set(["APPEND_FORWARD", "SANITIZE_SET"]);

function proxyConfigProblems(config: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  const xfcc = (config["proxyHeaders"] as { forwardedClientCert?: unknown } | undefined)?.forwardedClientCert;
  if (xfcc !== undefined && !SOUND_XFCC_MODES.has(String(xfcc)))
    problems.push(`${where} sets proxyHeaders.forwardedClientCert ${String(xfcc)}; the sidecar must append the peer (APPEND_FORWARD) or set it (SANITIZE_SET)`);
  if (config["interceptionMode"] === "NONE") problems.push(`${where} sets interceptionMode NONE: nothing is captured by the sidecar`);
  return problems;
}

export class XfccTrustError extends Error {
  override name = "XfccTrustError";
  constructor(readonly problems: readonly string[]) {
    super(`x-forwarded-client-cert trust is unsound: ${problems.join("; ")}`);
  }
}

const matches = (selector: Selector | undefined, labels: Record<string, string>): boolean => {
  if (selector === undefined) return true;
  // A selector this check cannot evaluate counts as matching: for "who may reach the port" that is the cautious side.
  if (selector.matchExpressions && selector.matchExpressions.length > 0) return true;
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
};

const hasSelector = (s: Selector | undefined) => s !== undefined && (Object.keys(s.matchLabels ?? {}).length > 0 || (s.matchExpressions ?? []).length > 0);

/** Istio's effective mTLS mode for a pod's port: workload (port level, then policy) > namespace > mesh root. */
function effectiveMtlsMode(pas: readonly PeerAuthenticationLike[], rootNamespace: string, namespace: string, podLabels: Record<string, string>, port: number): string {
  const own = pas.filter((p) => p.kind === "PeerAuthentication");
  const set = (m: string | undefined) => (m && m !== "UNSET" ? m : undefined);
  for (const pa of own.filter((p) => p.metadata.namespace === namespace && hasSelector(p.spec?.selector) && matches(p.spec?.selector, podLabels))) {
    const mode = set(pa.spec?.portLevelMtls?.[String(port)]?.mode) ?? set(pa.spec?.mtls?.mode);
    if (mode) return mode;
  }
  for (const ns of [namespace, rootNamespace]) {
    const pa = own.find((p) => p.metadata.namespace === ns && !hasSelector(p.spec?.selector));
    const mode = set(pa?.spec?.mtls?.mode);
    if (mode) return mode;
  }
  return "PERMISSIVE";
}

/** Every reason the plan's XFCC trust is unsound; empty when it is sound (or nothing trusts XFCC). */
export function xfccTrustProblems(inputs: XfccTrustInputs): string[] {
  const problems: string[] = [];
  const nsLabels = new Map(inputs.namespaces.map((n) => [n.name, n.labels]));
  const meshed = (ns: string) => nsLabels.get(ns)?.["istio-injection"] === "enabled";
  const meshWide = proxyConfigProblems(inputs.meshProxyConfig, "istiod's meshConfig.defaultConfig");
  for (const w of inputs.workloads) {
    const trusted = Object.entries(w.config).flatMap(([file, text]) => {
      const id = xfccTrustOf(text);
      return id === null ? [] : [{ file, id }];
    });
    if (trusted.length === 0) continue;
    const at = `${w.namespace}/${w.name}`;
    const labels = w.pod.metadata?.labels ?? {};
    const annotations = w.pod.metadata?.annotations ?? {};
    // Istio captures TCP only; a UDP port (the grandmaster's NTP, say) carries no HTTP and no XFCC.
    const ports = (w.pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP").map((p) => p.containerPort));
    const self = `spiffe://${inputs.trustDomain}/ns/${w.namespace}/sa/${w.pod.spec?.serviceAccountName ?? "default"}`;
    for (const t of trusted) if (t.id !== self) problems.push(`${at}: ${t.file} trusts the sidecar of ${t.id}, but the pod's SPIFFE ID is ${self}`);
    if (!meshed(w.namespace)) problems.push(`${at}: namespace ${w.namespace} is not labelled istio-injection=enabled, so the pod has no sidecar`);
    if (labels["sidecar.istio.io/inject"] === "false" || annotations["sidecar.istio.io/inject"] === "false") problems.push(`${at}: the pod opts out of sidecar injection`);
    if (w.pod.spec?.hostNetwork) problems.push(`${at}: the pod is on the host network, outside its sidecar's capture`);
    problems.push(...meshWide.map((p) => `${at}: ${p}`));
    if (annotations["sidecar.istio.io/interceptionMode"] === "NONE") problems.push(`${at}: sidecar.istio.io/interceptionMode NONE: nothing is captured by the sidecar`);
    const own = annotations["proxy.istio.io/config"];
    if (own !== undefined) {
      let parsed: unknown;
      try {
        parsed = parseYaml(own);
      } catch {
        parsed = undefined;
      }
      if (parsed === null || typeof parsed !== "object") problems.push(`${at}: proxy.istio.io/config is not a ProxyConfig this check can read`);
      else problems.push(...proxyConfigProblems(parsed as Record<string, unknown>, `${at}: proxy.istio.io/config`));
    }
    const excluded = (annotations["traffic.sidecar.istio.io/excludeInboundPorts"] ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const included = annotations["traffic.sidecar.istio.io/includeInboundPorts"];
    for (const port of ports) {
      if (excluded.includes(String(port))) problems.push(`${at}: port ${port} is excluded from the sidecar's inbound capture (traffic.sidecar.istio.io/excludeInboundPorts)`);
      if (
        included !== undefined &&
        included.trim() !== "*" &&
        !included
          .split(",")
          .map((p) => p.trim())
          .includes(String(port))
      ) {
        problems.push(`${at}: port ${port} is not in traffic.sidecar.istio.io/includeInboundPorts, so it bypasses the sidecar`);
      }
      const mode = effectiveMtlsMode(inputs.peerAuthentications, inputs.meshRootNamespace, w.namespace, labels, port);
      if (mode !== "STRICT") problems.push(`${at}: port ${port} takes ${mode} mTLS, so plaintext requests carrying their own x-forwarded-client-cert reach the app; it must be STRICT`);
    }
    problems.push(...networkProblems(inputs, w.namespace, labels, ports, at, meshed));
  }
  return problems;
}

function networkProblems(inputs: XfccTrustInputs, namespace: string, podLabels: Record<string, string>, ports: number[], at: string, meshed: (ns: string) => boolean): string[] {
  const problems: string[] = [];
  const inNs = inputs.networkPolicies.filter((p) => p.metadata.namespace === namespace && p.spec.policyTypes.includes("Ingress"));
  const defaultDeny = inNs.some((p) => !hasSelector(p.spec.podSelector) && (p.spec.ingress ?? []).length === 0);
  if (!defaultDeny) problems.push(`${at}: namespace ${namespace} has no default-deny ingress NetworkPolicy`);
  for (const p of inNs.filter((x) => matches(x.spec.podSelector, podLabels))) {
    for (const [i, rule] of (p.spec.ingress ?? []).entries()) {
      const admitted = ports.filter((port) => rule.ports === undefined || rule.ports.length === 0 || rule.ports.some((rp) => rp.port === port && (rp.protocol ?? "TCP") === "TCP"));
      if (admitted.length === 0) continue;
      const where = `${at}: NetworkPolicy ${p.metadata.name} ingress[${i}] admits port ${admitted.join(",")}`;
      if (rule.from === undefined || rule.from.length === 0) {
        problems.push(`${where} from anywhere`);
        continue;
      }
      for (const peer of rule.from) {
        // The east-west gateway never terminates: it passes the peer region's sidecar mTLS through, which this pod's sidecar verifies.
        if (isEastWestGateway(peer)) continue;
        // The SPIRE server (node attestation at the verifier) is unmeshed, but it is the CA every SVID the sidecar
        // verifies comes from: a header it could write names no identity it could not already mint and present over
        // the STRICT mTLS checked above. Its pods exactly, not its namespace (the agents run there too).
        if (isPeer(peer, SPIRE_SERVER_IDENTITY.namespace, SPIRE_SERVER_IDENTITY.selector)) continue;
        if (peer.ipBlock) problems.push(`${where} from ipBlock ${peer.ipBlock.cidr}, outside the mesh`);
        else if (peer.namespaceSelector) {
          const selector: Selector = peer.namespaceSelector;
          const nss = inputs.namespaces.filter((n) => matches(selector, n.labels));
          const outside = nss.filter((n) => !meshed(n.name)).map((n) => n.name);
          if (nss.length === 0 || !hasSelector(selector)) problems.push(`${where} from every namespace, or one this plan does not create`);
          else if (outside.length > 0) problems.push(`${where} from namespaces without sidecars (${outside.join(", ")})`);
        } else if (!peer.podSelector) problems.push(`${where} from a peer that names no pods`);
        // A podSelector alone selects pods of the policy's own namespace, which is meshed (checked above).
      }
    }
  }
  return problems;
}

function isEastWestGateway(peer: { namespaceSelector?: Selector; podSelector?: Selector }): boolean {
  return isPeer(peer, NAMESPACES.istio, EAST_WEST_GATEWAY.selector);
}

/** The peer selects exactly `selector`'s pods in the namespace `namespace`. */
function isPeer(peer: { namespaceSelector?: Selector; podSelector?: Selector }, namespace: string, selector: Record<string, string>): boolean {
  const ns = peer.namespaceSelector?.matchLabels;
  const pods = peer.podSelector?.matchLabels;
  return (
    ns !== undefined &&
    Object.keys(ns).length === 1 &&
    ns["kubernetes.io/metadata.name"] === namespace &&
    peer.namespaceSelector?.matchExpressions === undefined &&
    peer.podSelector?.matchExpressions === undefined &&
    JSON.stringify(pods) === JSON.stringify(selector)
  );
}

/** Throws XfccTrustError listing every problem: the plan stops before anything trusts a header it should not. */
export function assertXfccTrustSound(inputs: XfccTrustInputs): void {
  const problems = xfccTrustProblems(inputs);
  if (problems.length > 0) throw new XfccTrustError(problems);
}

/** The objects one region's plan renders, as the check reads them (the same builders the components call). */
export function regionXfccTrustInputs(spec: EstateSpec, region: Region): XfccTrustInputs {
  const ctx = { environment: spec.environment, trustDomain: spec.pki.trustDomain, maxOffsetMs: spec.time.maxOffsetMs, requireEpoch: spec.time.gateway.requireEpoch };
  const gm = regionTimePlan(spec, region).grandmaster;
  return {
    trustDomain: spec.pki.trustDomain,
    meshRootNamespace: NAMESPACES.istio,
    namespaces: (Object.keys(NAMESPACES) as NamespaceRole[]).map((r) => ({ name: NAMESPACES[r], labels: { "kubernetes.io/metadata.name": NAMESPACES[r], ...namespaceSecurityLabels(r) } })),
    workloads: [
      ...regionWorkloads(spec, region.id).map((w) => {
        const m = workloadManifests(w, ctx);
        return { name: w.service.name, namespace: w.service.namespace, config: w.config, pod: (m.controller.args.spec as { template: unknown }).template as XfccWorkload["pod"] };
      }),
      ...(gm
        ? [{ name: gm.name, namespace: NAMESPACES.time, config: grandmasterConfig(spec.pki.trustDomain, gm), pod: grandmasterPodTemplate(region.id, gm, spec.runtime.image) as XfccWorkload["pod"] }]
        : []),
    ],
    peerAuthentications: meshPolicies(spec) as PeerAuthenticationLike[],
    networkPolicies: regionNetworkPolicies(regionNetworkInputs(spec, region.id, region.cloud)),
    meshProxyConfig: (istiodValues(spec, region)["meshConfig"] as { defaultConfig?: Record<string, unknown> } | undefined)?.defaultConfig ?? {},
  };
}
