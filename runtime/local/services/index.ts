/** The runtime services every region process of the local estate hosts, in start order. */
import type { RegionService } from "../region-service.js";
import { clockService } from "./clock.js";
import { ratelimitService } from "./ratelimit.js";

export const regionServices: RegionService[] = [clockService, ratelimitService];
