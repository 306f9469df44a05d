/**
 * The estate's areas, built in order once every regional cluster exists. Each area is a function from
 * the EstateContext to the stack outputs it contributes; adding an area is one line here.
 */
import type { Area } from "./context.js";
import { trafficArea } from "./dns/index.js";
import { monitoringArea } from "./monitoring/index.js";
import { networkArea } from "./network/index.js";
import { pkiArea } from "./pki/index.js";
import { securityArea } from "./security/index.js";
import { replicationArea } from "./replication/area.js";
import { timeArea } from "./time/index.js";
import { workloadsArea } from "./workloads/area.js";

export const areas: Area[] = [trafficArea, pkiArea, replicationArea, networkArea, timeArea, workloadsArea, securityArea, monitoringArea];
