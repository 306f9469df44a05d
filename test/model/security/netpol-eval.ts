/**
 * A NetworkPolicy evaluator (the semantics of networking.k8s.io/v1): a connection is allowed when the
 * source's egress and the destination's ingress both allow it. A pod no policy of its namespace selects
 * for a direction is unrestricted in that direction; otherwise some rule must match peer and port.
 */
import type { NetworkPolicyShape } from "../../../model/security/network.js";

export type Endpoint = { namespace: string; namespaceLabels: Record<string, string>; labels: Record<string, string> } | { ip: string };
type Peer = NonNullable<NonNullable<NetworkPolicyShape["spec"]["ingress"]>[number]["from"]>[number];
type Rule = NonNullable<NetworkPolicyShape["spec"]["ingress"]>[number];

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);

function ipIn(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/") as [string, string];
  if (Number(bits) === 0) return true;
  const n = (a: string) => a.split(".").reduce((s, o) => s * 256 + Number(o), 0);
  const block = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / block) === Math.floor(n(base) / block);
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if ("ip" in other) return peer.ipBlock !== undefined && ipIn(other.ip, peer.ipBlock.cidr);
  if (peer.ipBlock) return false;
  const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector.matchLabels, other.namespaceLabels) : other.namespace === policyNamespace;
  return nsOk && matches(peer.podSelector?.matchLabels, other.labels);
}

function ruleAllows(rule: Rule, peers: Peer[] | undefined, policyNamespace: string, other: Endpoint, port: number, protocol: string): boolean {
  const portOk = rule.ports === undefined || rule.ports.some((p) => p.port === port && p.protocol === protocol);
  const peerOk = peers === undefined || peers.some((p) => peerMatches(p, policyNamespace, other));
  return portOk && peerOk;
}

function side(policies: NetworkPolicyShape[], self: Endpoint, other: Endpoint, dir: "Ingress" | "Egress", port: number, protocol: string): boolean {
  if ("ip" in self) return true;
  const selecting = policies.filter((p) => p.metadata.namespace === self.namespace && p.spec.policyTypes.includes(dir) && matches(p.spec.podSelector.matchLabels, self.labels));
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (dir === "Ingress" ? (p.spec.ingress ?? []) : (p.spec.egress ?? [])).some((r) => ruleAllows(r, dir === "Ingress" ? r.from : r.to, p.metadata.namespace, other, port, protocol)),
  );
}

export function allowed(policies: NetworkPolicyShape[], from: Endpoint, to: Endpoint, port: number, protocol: "TCP" | "UDP" = "TCP"): boolean {
  return side(policies, from, to, "Egress", port, protocol) && side(policies, to, from, "Ingress", port, protocol);
}
