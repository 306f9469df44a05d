/**
 * Session tokens (§12.1.1, §12.3.3): an HMAC-signed record of the highest HLC timestamp a client has
 * written or observed. A server reading for that client must read at or after the token's timestamp —
 * which gives read-your-writes and monotonic reads across services and regions — and hands back a token
 * advanced to what it served. Tokens carry no secrets; the HMAC only stops clients forging a future
 * timestamp that would drag servers' clocks or stall their reads.
 *
 * Format: `v1.<wall>.<logical>.<base64url HMAC-SHA256>` with the MAC over `v1.<wall>.<logical>`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { format, max, parse, type Timestamp } from "./timestamp.js";

export const SESSION_HEADER = "x-meridian-session";

export class SessionTokenError extends Error {
  override name = "SessionTokenError";
}

export class SessionTokens {
  constructor(private readonly secret: string | Uint8Array) {
    if (secret.length < 16) throw new RangeError("session token secret must be at least 16 bytes");
  }

  issue(ts: Timestamp): string {
    const body = `v1.${format(ts)}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The timestamp a token vouches for; throws SessionTokenError naming what is wrong. */
  verify(token: string): Timestamp {
    const at = token.lastIndexOf(".");
    const body = token.slice(0, at);
    if (at < 0 || !body.startsWith("v1.")) throw new SessionTokenError(`session token "${token.slice(0, 40)}" is not a v1 token (v1.<wall>.<logical>.<mac>)`);
    const given = Buffer.from(token.slice(at + 1), "base64url");
    const want = Buffer.from(this.mac(body), "base64url");
    if (given.length !== want.length || !timingSafeEqual(given, want)) throw new SessionTokenError("session token signature does not verify");
    try {
      return parse(body.slice(3));
    } catch (e) {
      throw new SessionTokenError((e as Error).message);
    }
  }

  /** A token for the later of what the client had and what it just wrote or read. */
  advance(token: string | null, observed: Timestamp): string {
    return this.issue(token === null ? observed : max(this.verify(token), observed));
  }

  private mac(body: string): string {
    return createHmac("sha256", this.secret).update(body).digest("base64url");
  }
}
