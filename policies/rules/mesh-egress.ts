/**
 * The shipped dev, staging and prod stacks give each region's `mesh.egress` (the addresses its cluster's outbound
 * traffic leaves from, the only sources its peers' east-west gateway load balancers admit) a documentation address
 * (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24): no cluster sends from one, so every cross-region call
 * would be refused. That fails closed, but it is not a working estate: outside `local` the pack refuses it until the
 * stack names the real NAT addresses, as it refuses the all-zero image digests (images.ts).
 */
import type { Finding, StackRule } from "../rule.js";

const DOCUMENTATION_NETS = ["192.0.2.", "198.51.100.", "203.0.113."];

/** Whether a CIDR lies wholly inside an RFC 5737 documentation network (a /24 or longer prefix of one). */
export function isDocumentationCidr(cidr: string): boolean {
  const [address = "", bits = "32"] = cidr.split("/");
  return Number(bits) >= 24 && DOCUMENTATION_NETS.some((net) => address.startsWith(net));
}

export const meshEgressPlaceholder: StackRule = {
  kind: "stack",
  name: "meridian-mesh-egress-placeholder",
  description:
    "Outside the local environment, each region's meridian:regions[].mesh.egress names the public addresses its cluster egresses from, not the shipped RFC 5737 documentation addresses (no cluster sends from them, so the east-west gateways would refuse every cross-region call).",
  enforcementLevel: "mandatory",
  needsModel: true,
  check(_resources, ctx): Finding[] {
    const spec = ctx.model?.spec;
    if (spec === undefined || spec.environment === "local") return [];
    const placeholders = spec.regions.flatMap((r, i) => (r.mesh?.egress ?? []).filter(isDocumentationCidr).map((cidr) => `meridian:regions[${i}].mesh.egress (${r.id}): ${cidr}`));
    if (placeholders.length === 0) return [];
    // One finding for all of them: one task (look up each cluster's NAT addresses), not one problem per region.
    return [
      {
        message:
          `${placeholders.length} mesh egress address${placeholders.length === 1 ? " is" : "es are"} RFC 5737 documentation addresses no cluster sends from, so the other regions' east-west gateways would refuse every cross-region call: ` +
          `${placeholders.join("; ")}. Set each region's mesh.egress to its NAT gateways' public addresses (docs/deploy.md).`,
      },
    ];
  },
};
