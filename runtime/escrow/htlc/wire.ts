/**
 * How the HTLC routes (transport/htlc.ts) answer each refusal: HTTP status and error text, and back again for
 * clients (htlc/client.ts). A module of its own so the client — every `meridian escrow htlc` command — does not
 * load the routes, and with them the service kit.
 */
export const HTLC_REFUSAL_STATUS: Record<string, [number, string]> = {
  invalid: [400, "invalid lock"],
  insufficient: [409, "insufficient balance"],
  // A lock's id is derived from its terms (core.ts htlcId), so other terms under one id are only a row stored under
  // an id a client chose before ids were derived, or an id an in-process caller gave.
  conflict: [409, "lock exists"],
  expired: [410, "timelock passed"],
  unknown: [404, "unknown lock"],
  "not-recipient": [403, "not the recipient"],
  "not-owner": [403, "not the owner"],
  "wrong-preimage": [403, "wrong preimage"],
  refunded: [409, "already refunded"],
  claimed: [409, "already claimed"],
  "not-yet": [425, "timelock not reached"],
};

/** The refusal reason an HTTP error names. */
export function htlcRefusalOf(error: string): string | undefined {
  return Object.entries(HTLC_REFUSAL_STATUS).find(([, [, e]]) => e === error)?.[0];
}
