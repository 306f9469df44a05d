/**
 * A SCRAM-SHA-256 password verifier in PostgreSQL's stored form (RFC 5802/7677; src/common/scram-common.c):
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. `ALTER ROLE … PASSWORD '<verifier>'` stores it
 * as is, so the cleartext never reaches the server, its statement log or pg_stat_activity.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();

/** Printable ASCII only: SASLprep leaves it unchanged, so the verifier matches what libpq sends. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error("password must be printable ASCII without spaces (SASLprep would change it)");
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const storedKey = createHash("sha256").update(hmac(salted, "Client Key")).digest();
  const serverKey = hmac(salted, "Server Key");
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
