/**
 * Shared vocabulary for stack config schemas: identifiers, durations and the cloud/continent enums.
 * Every area's schema builds on these so one stack file reads as one language.
 */
import { z } from "zod";

export const clouds = ["aws", "gcp", "azure"] as const;
export type Cloud = (typeof clouds)[number];

/** Continents as the GSLB geo modes name them (Route 53 continent codes map from these). */
export const continents = ["north-america", "south-america", "europe", "asia", "oceania", "africa"] as const;
export type Continent = (typeof continents)[number];

export const slug = z.string().regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/, "expected a lower-case slug: letters, digits and '-', 2-40 characters");

export const dnsName = z.string().regex(/^(?!-)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/, "expected a fully qualified domain name such as example.com");

/** Go-style duration ("90s", "15m", "1h", "2160h") as cert-manager and SPIRE spell them. */
export const duration = z.string().regex(/^(\d+(\.\d+)?(ms|s|m|h))+$/, "expected a duration such as 30s, 15m or 2160h");

export function durationSeconds(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    const factor = unit === "h" ? 3600 : unit === "m" ? 60 : unit === "s" ? 1 : 0.001;
    total += Number(n) * factor;
  }
  return total;
}

export const port = z.number().int().min(1).max(65535);
export const nonNegative = z.number().finite().nonnegative();
export const positive = z.number().finite().positive();
export const fraction = z.number().finite().min(0).max(1);

/** An Azure subnet's name as ARM accepts it: 1-80 letters, digits, '_', '.', '-', starting alphanumeric, not ending in '.' or '-'. */
export const azureSubnetName = z.string().regex(/^[A-Za-z0-9](?:[\w.-]{0,78}\w)?$/, "expected an Azure subnet name: 1-80 letters, digits, '_', '.' and '-', starting with a letter or digit");
