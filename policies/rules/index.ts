/** Every rule of the pack, in the order CrossGuard and `meridian plan` report them. */
import type { Rule } from "../rule.js";
import { certificateBounds } from "./certificates.js";
import { costTable, egressTopology, stackBudget } from "./cost.js";
import { noPublicDatabases } from "./databases.js";
import { fullMeshPremium, resourceCostLimit } from "./resource-cost.js";
import { failoverTtl } from "./failover-ttl.js";
import { healthCheckSanity } from "./health-checks.js";
import { imagesByDigest, runtimeImageDigest, runtimeImagePlaceholder } from "./images.js";
import { meshEgressPlaceholder } from "./mesh-egress.js";
import { meshWideStrictPresent, peerAuthenticationStrict } from "./mtls.js";
import { nilUuidPlaceholder } from "./nil-uuid.js";
import { spirePluginChecksums } from "./spire-plugins.js";

export const rules: Rule[] = [
  stackBudget,
  resourceCostLimit,
  egressTopology,
  fullMeshPremium,
  costTable,
  healthCheckSanity,
  failoverTtl,
  peerAuthenticationStrict,
  meshWideStrictPresent,
  certificateBounds,
  noPublicDatabases,
  runtimeImageDigest,
  runtimeImagePlaceholder,
  meshEgressPlaceholder,
  nilUuidPlaceholder,
  imagesByDigest,
  spirePluginChecksums,
];
