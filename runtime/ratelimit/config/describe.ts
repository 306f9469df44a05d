/** A readable listing of a domain's limits (for `meridian ratelimit validate`). */
import { toLimit } from "./match.js";
import type { DescriptorConfig, DomainConfig } from "./schema.js";

export function describeDomain(d: DomainConfig): string {
  const lines = [`domain ${d.domain}${d.hierarchical ? " (hierarchical)" : ""}`];
  const walk = (nodes: DescriptorConfig[] | undefined, depth: number) => {
    for (const n of nodes ?? []) {
      const id = `${n.key}${n.value === undefined ? " (each value)" : `=${n.value}`}`;
      let what = "";
      if (n.unlimited) what = "unlimited";
      else if (n.rate_limit) {
        const l = toLimit(n.rate_limit);
        what = `${n.rate_limit.requests_per_unit}/${n.rate_limit.unit_multiplier ?? 1} ${n.rate_limit.unit} ${l.algorithm}${l.burst !== undefined ? ` burst ${l.burst}` : ""}${l.debt ? ` debt ${l.debt}` : ""}`;
      }
      const flags = [n.shadow_mode ? "shadow" : "", n.hierarchical !== undefined ? `hierarchical=${n.hierarchical}` : ""].filter(Boolean).join(" ");
      lines.push(`${"  ".repeat(depth)}${id}${what ? `: ${what}` : ""}${flags ? ` [${flags}]` : ""}`);
      walk(n.descriptors, depth + 1);
    }
  };
  walk(d.descriptors, 1);
  return `${lines.join("\n")}\n`;
}
