/**
 * SPIRE external plugins carry their binary's SHA-256. SPIRE only warns when a plugin's `plugin_checksum` is
 * empty and then runs whatever the path holds; the Meridian attestation plugins decide which nodes get SVIDs, so a
 * spire release that loads one without a checksum is refused: the stack pins the sums of the runtime image it
 * deploys (`meridian:runtime.attest.pluginChecksums`, from the image's /app/spire-plugins/SHA256SUMS), and SPIRE
 * refuses to start a binary that is not that build.
 */
import { prop, type ResourceRule } from "../rule.js";

const SHA256_HEX = /^[0-9a-f]{64}$/;

export const spirePluginChecksums: ResourceRule = {
  kind: "resource",
  name: "meridian-spire-plugin-checksum",
  description: "Every external plugin a spire release loads (customPlugins on spire-server and spire-agent) names its binary's SHA-256 as plugin_checksum.",
  enforcementLevel: "mandatory",
  check(resource): string[] {
    if (resource.type !== "kubernetes:helm.sh/v3:Release" || prop(resource.props, "chart") !== "spire") return [];
    const out: string[] = [];
    for (const sub of ["spire-server", "spire-agent"]) {
      const plugins = prop(resource.props, `values.${sub}.customPlugins`);
      if (plugins === null || typeof plugins !== "object") continue;
      for (const [type, byName] of Object.entries(plugins as Record<string, unknown>)) {
        for (const [name, p] of Object.entries((byName ?? {}) as Record<string, unknown>)) {
          const sum = prop(p, "plugin_checksum");
          if (typeof sum !== "string" || !SHA256_HEX.test(sum))
            out.push(
              `${sub} ${type} plugin ${name} has plugin_checksum ${JSON.stringify(sum ?? null)}: SPIRE would run any binary at its plugin_cmd; set meridian:runtime.attest.pluginChecksums from the runtime image's /app/spire-plugins/SHA256SUMS`,
            );
        }
      }
    }
    return out;
  },
};
