/** A readable listing of a domain's limits (for `meridian ratelimit validate`), one line per descriptor. */
import type { DescriptorConfig, DomainConfig } from "./schema.js";

function limitText(n: DescriptorConfig): string {
  const rl = n.rate_limit;
  if (!rl) return "";
  if (rl.unlimited) return "unlimited";
  const per = rl.unit_multiplier > 1 ? `${rl.unit_multiplier} ${rl.unit}s` : rl.unit;
  const alg = rl.algorithm ?? "fixed-window";
  const extra = [rl.burst !== undefined ? `burst ${rl.burst}` : "", rl.debt ? `debt ${rl.debt}` : "", rl.global ? "global" : ""].filter(Boolean).join(" ");
  return `${rl.requests_per_unit === 0 ? "0 (blocks every request)" : rl.requests_per_unit}/${per} ${alg}${extra ? ` ${extra}` : ""}`;
}

export function describeDomain(d: DomainConfig): string {
  const lines = [`domain ${d.domain}${d.hierarchical ? " (hierarchical)" : ""}  [${d.file}]`];
  const walk = (nodes: readonly DescriptorConfig[], depth: number) => {
    for (const n of nodes) {
      const id = `${n.key}${n.value === "" ? " (each value)" : `=${n.value}`}`;
      const what = limitText(n);
      const rl = n.rate_limit;
      const flags = [
        rl?.name ? `name=${rl.name}` : "",
        rl?.replaces.length ? `replaces=${rl.replaces.join(",")}` : "",
        n.shadow_mode ? "shadow" : "",
        n.quota_mode ? "quota" : "",
        n.share_threshold ? "share_threshold" : "",
        n.detailed_metric ? "detailed_metric" : "",
        n.value_to_metric ? "value_to_metric" : "",
        n.metadata ? "metadata" : "",
        n.hierarchical !== undefined ? `hierarchical=${n.hierarchical}` : "",
      ].filter(Boolean);
      lines.push(`${"  ".repeat(depth)}${id}${what ? `: ${what}` : n.descriptors.length ? "" : ": no limit"}${flags.length ? ` [${flags.join(" ")}]` : ""}`);
      walk(n.descriptors, depth + 1);
    }
  };
  walk(d.descriptors, 1);
  return `${lines.join("\n")}\n`;
}
