/**
 * The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` lists
 * each policy that decided (`"name";q=<quota>;w=<window seconds>`) and `RateLimit` its state
 * (`"name";r=<remaining>;t=<seconds to reset>`), plus `Retry-After` on OVER_LIMIT. A policy is named by
 * its config — the rule's `name`, else its config path (`domain.key_value.key`) — never by a request's
 * descriptor values, which may be API keys or user ids and must not travel downstream.
 */
import type { RlsResponse } from "./types.js";

/** Structured-field string: quote and escape; non-ASCII becomes `?`. */
const sfString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, "?")}"`;

export function rateLimitHeaders(r: RlsResponse): Record<string, string> {
  const policy: string[] = [];
  const state: string[] = [];
  const seen = new Set<string>();
  for (const s of r.statuses)
    for (const p of s.policies) {
      if (seen.has(p.name)) continue;
      seen.add(p.name);
      const name = sfString(p.name);
      policy.push(`${name};q=${p.quota};w=${Math.max(1, Math.round(p.windowMs / 1000))}`);
      state.push(`${name};r=${p.remaining};t=${Math.ceil(Math.max(0, p.resetMs) / 1000)}`);
    }
  const h: Record<string, string> = {};
  if (policy.length) {
    h["ratelimit-policy"] = policy.join(", ");
    h["ratelimit"] = state.join(", ");
  }
  // Retry-After: the tightest rejecting limit; a limit that can never pass gets its window (a day at most).
  if (r.overallCode === "OVER_LIMIT") h["retry-after"] = String(r.retryAfterMs >= 0 ? Math.max(1, Math.ceil(r.retryAfterMs / 1000)) : 86_400);
  return h;
}
