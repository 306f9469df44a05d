/**
 * Waiting-room tokens (jose, HS256 with the secret every region mounts — `waitingRoom.tokenSecretFile`):
 * - a *queue* token records a buyer's place — SKU, buyer, score, when they joined — so any region, or
 *   the same one after a restart, can put them back where they were;
 * - a *pass* says the buyer was admitted and may reserve until it expires.
 * Both are bound to the buyer (`sub`) and the SKU; a token that does not verify, or that belongs to
 * another buyer or SKU, is refused (403) — the buyer still proves who they are with their own JWT.
 * The secret also keys each buyer's random draw (`draw`), so a buyer has one draw per SKU, wherever they join.
 */
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { errors, jwtVerify, SignJWT } from "jose";
import { HttpError } from "../../common/http.js";

const ISSUER = "meridian-escrow-waiting-room";

export interface QueueClaims {
  sku: string;
  user: string;
  score: number;
  joinedAtMs: number;
}

/** The shared secret from its file: at least 32 bytes (HS256), trailing newline ignored. */
export function readQueueSecret(file: string): Uint8Array {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    throw new Error(`waitingRoom.tokenSecretFile: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const key = new TextEncoder().encode(raw);
  if (key.length < 32) throw new Error(`waitingRoom.tokenSecretFile: ${file} holds ${key.length} bytes; a queue-token secret needs at least 32 (e.g. openssl rand -base64 48)`);
  return key;
}

export class QueueTokens {
  constructor(
    private readonly key: Uint8Array,
    private readonly now: () => number,
  ) {}

  /** A queue token, valid for a day past the later of now and the open. */
  queue(c: QueueClaims, opensAtMs: number): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({ typ: "queue", sku: c.sku, score: c.score, joined: c.joinedAtMs })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setSubject(c.user)
      .setIssuedAt(iat)
      .setExpirationTime(Math.floor(Math.max(this.now(), opensAtMs) / 1000) + 86_400)
      .sign(this.key);
  }

  pass(sku: string, user: string, expiresAtMs: number): Promise<string> {
    return new SignJWT({ typ: "pass", sku })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setSubject(user)
      .setIssuedAt(Math.floor(this.now() / 1000))
      .setExpirationTime(Math.floor(expiresAtMs / 1000))
      .sign(this.key);
  }

  /**
   * The buyer's random draw for this SKU's room, in [0, 1): uniform and unpredictable without the secret, and
   * the same on every region and after every restart. A buyer who joins again after the queue store lost
   * their place draws what they drew before, so a fresh draw beside an old token is never a second chance.
   */
  draw(sku: string, user: string): number {
    const mac = createHmac("sha256", this.key).update(`${ISSUER} draw\u0000${sku}\u0000${user}`).digest();
    return mac.readUIntBE(0, 6) / 2 ** 48;
  }

  /** The claims of a queue token for this SKU and buyer, or a 403 naming what is wrong. */
  async verifyQueue(token: string, sku: string, user: string): Promise<QueueClaims> {
    const p = await this.verify(token, "queue", sku, user, "queue token");
    if (typeof p["score"] !== "number" || typeof p["joined"] !== "number") throw forbidden("queue token: missing score");
    return { sku, user, score: p["score"], joinedAtMs: p["joined"] };
  }

  async verifyPass(token: string, sku: string, user: string): Promise<void> {
    await this.verify(token, "pass", sku, user, "waiting-room pass");
  }

  private async verify(token: string, typ: string, sku: string, user: string, what: string): Promise<Record<string, unknown>> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ["HS256"], currentDate: new Date(this.now()), requiredClaims: ["sub", "exp"] }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw forbidden(`${what} has expired; join the waiting room again`);
      throw forbidden(`${what} does not verify (${err instanceof errors.JWSSignatureVerificationFailed ? "bad signature" : (err as Error).message})`);
    }
    if (payload["typ"] !== typ) throw forbidden(`${what}: this is not a ${what}`);
    if (payload["sku"] !== sku) throw forbidden(`${what} is for ${String(payload["sku"])}, not ${sku}`);
    if (payload["sub"] !== user) throw forbidden(`${what} belongs to another buyer`);
    return payload;
  }
}

function forbidden(detail: string): HttpError {
  return new HttpError(403, "waiting room", detail);
}
