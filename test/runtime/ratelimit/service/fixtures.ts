import { compileDomains } from "../../../../runtime/ratelimit/config/compile.js";
import { parseRateLimitConfig } from "../../../../runtime/ratelimit/config/schema.js";

/** envoyproxy/ratelimit YAML with Meridian's extensions (hierarchical, algorithm). */
export const CONFIG_YAML = `
domain: edge
descriptors:
  - key: tenant
    rate_limit: { unit: minute, requests_per_unit: 4 }
    hierarchical: true
    descriptors:
      - key: user
        rate_limit: { unit: minute, requests_per_unit: 3, algorithm: sliding-log, name: per-user }
  - key: remote_address
    rate_limit: { unit: second, requests_per_unit: 2 }
  - key: path
    value: /shadow
    shadow_mode: true
    rate_limit: { unit: second, requests_per_unit: 1 }
  - key: vip
    rate_limit: { unlimited: true }
`;

export const compiled = (yaml = CONFIG_YAML, file = "edge.yaml") => compileDomains(parseRateLimitConfig(yaml, file));
export const domains = () => compiled();
