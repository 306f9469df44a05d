/**
 * chrony.conf for a region's nodes, rendered from its RegionTimePlan. Every directive is chrony 4.x
 * syntax and every rendered file must pass `chronyd -p -f FILE` (the tests run it). Pure text.
 */
import type { RegionTimePlan } from "./hierarchy.js";

export const CHRONY_CONF_PATH = "/etc/chrony/chrony.conf";

export function renderChronyConf(plan: RegionTimePlan): string {
  const lines = [`# chrony.conf for region ${plan.region} (${plan.cloud}), rendered by Meridian from the time hierarchy.`, `# Time scale: ${plan.smear}. Never mix smeared and unsmeared sources.`];
  for (const e of plan.excluded) lines.push(`# excluded: ${e.source.target} — ${e.source.smear}`);
  lines.push("");
  for (const s of plan.sources) {
    lines.push(`# ${s.note}`);
    lines.push([s.directive, s.target, ...s.options].join(" "));
  }
  lines.push(
    "",
    "# A source whose error bound exceeds half the HLC max offset cannot be trusted for ordering.",
    `maxdistance ${formatSeconds(plan.maxDistanceSeconds)}`,
    `minsources ${plan.minSources}`,
    "# Step only while starting up; afterwards slew, so the HLC never sees a backward jump from chrony.",
    "makestep 1.0 3",
    "driftfile /var/lib/chrony/chrony.drift",
    "rtcsync",
    // Smeared estates follow their sources' smear; unsmeared ones let the kernel insert the leap second.
    `leapsecmode ${plan.smear === "smeared" ? "slew" : "system"}`,
    "",
  );
  return lines.join("\n");
}

function formatSeconds(s: number): string {
  return Number(s.toFixed(6)).toString();
}
