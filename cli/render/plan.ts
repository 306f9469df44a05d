/**
 * Rendering a plan: the component → resource tree grouped by region and provider with counts, and the
 * stack outputs; or the documented JSON `{ stack, resources: [{urn,type,name,parent,provider,dependencies,inputs}], outputs }`,
 * where `dependencies` lists the URNs a resource waits for (its `dependsOn` and the resources its inputs
 * came from), so ordering can be checked from the JSON alone.
 */
import type { Plan } from "../../components/preview/plan.js";
import type { RecordedResource } from "../../components/preview/mock-runtime.js";

export function renderPlanJson(plan: Plan): string {
  const resources = plan.resources.map(({ urn, type, name, parent, provider, dependencies, inputs }) => ({ urn, type, name, parent, provider, dependencies, inputs }));
  return `${JSON.stringify({ stack: plan.stack, resources, outputs: plan.outputs }, null, 2)}\n`;
}

/** The cloud or platform a resource type belongs to: `aws`, `gcp`, `azure-native`, `cloudflare`, `kubernetes`, `meridian`. */
function providerOf(type: string): string {
  return type.split(":")[0] ?? type;
}

export function renderPlanText(plan: Plan): string {
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  const children = new Map<string, RecordedResource[]>();
  for (const r of plan.resources) {
    const key = r.parent ?? "";
    children.set(key, [...(children.get(key) ?? []), r]);
  }
  const lines: string[] = [`Plan for stack ${plan.stack}: ${plan.resources.length} resources`, ""];

  const walk = (r: RecordedResource, depth: number) => {
    const kids = children.get(r.urn) ?? [];
    const custom = kids.filter((k) => k.custom && !k.type.startsWith("pulumi:providers:"));
    const counts = countBy(custom.map((k) => k.type));
    const summary = custom.length ? `  (${[...counts].map(([t, n]) => `${n}× ${t}`).join(", ")})` : "";
    lines.push(`${"  ".repeat(depth)}${r.custom ? "" : "▸ "}${r.type} ${r.name}${r.custom ? "" : summary}`);
    if (!r.custom) for (const k of kids.filter((k) => !k.custom)) walk(k, depth + 1);
  };
  const roots = plan.resources.filter((r) => r.parent === null || !byUrn.has(r.parent));
  for (const root of roots) walk(root, 0);

  lines.push("", "Resources by provider:");
  for (const [provider, n] of countBy(plan.resources.filter((r) => r.custom).map((r) => providerOf(r.type)))) {
    lines.push(`  ${provider.padEnd(14)} ${n}`);
  }
  lines.push("", "Outputs:");
  for (const [key, value] of Object.entries(plan.outputs)) lines.push(`  ${key}: ${JSON.stringify(value)}`);
  return `${lines.join("\n")}\n`;
}

function countBy(items: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return new Map([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}
