/** Provider name → its renderer. One file per provider; this map is the only place they meet. */
import type { DnsProvider } from "../../model/config/traffic.js";
import type { DnsBackend } from "./backend.js";
import { cloudflare } from "./cloudflare.js";
import { clouddns } from "./clouddns.js";
import { local } from "./local.js";
import { route53 } from "./route53.js";
import { trafficmanager } from "./trafficmanager.js";

export const BACKENDS: Record<DnsProvider, DnsBackend> = { route53, clouddns, trafficmanager, cloudflare, local };
