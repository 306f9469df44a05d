/**
 * Where replication credentials live: one JSON document per secret in the cloud's secret manager (AWS
 * Secrets Manager, GCP Secret Manager, Azure Key Vault; cloud-secrets.ts), read at run time, never from
 * config or a ConfigMap. A secret is named by a reference URI:
 *
 *   aws-secretsmanager://<region>/<secret id>        gcp-secretmanager://projects/<project>/secrets/<name>
 *   azure-keyvault://<vault name>/<secret name>      file:///path (one JSON file, replaced atomically)
 *
 * The documents: a `Login` ({username, password}) for a database's admin, a `MonitorLogin` for the lag
 * monitor's role (a Login, plus the password a rotation in progress is moving it to), and a
 * `ReplicationLogin` for a publisher — the login subscriptions use now (top level), the standby role of the
 * alternating pair, and the rotation in progress, if any (rotate.ts).
 */
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";

export interface SecretStore {
  readonly ref: string;
  read(): Promise<string>;
  write(value: string): Promise<void>;
}

/** PostgreSQL role names Meridian issues: lower-case identifiers that need no quoting. */
const roleName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "a lower-case PostgreSQL identifier");

export const loginSchema = z.object({ username: roleName, password: z.string().min(16, "at least 16 characters") });
export type Login = z.output<typeof loginSchema>;

export const replicationLoginSchema = loginSchema.extend({
  standby: loginSchema,
  /**
   * A rotation that has started and not finished: re-running completes it with these values. Recorded only
   * once its login works on the publisher (rotate.ts), and `from` is the login it will retire.
   */
  pending: loginSchema.extend({ from: roleName, retire: z.string().min(16) }).optional(),
});
export type ReplicationLogin = z.output<typeof replicationLoginSchema>;

/**
 * The lag monitor's login: one role (PostgreSQL keeps one password per role), so its rotation
 * (monitor-login.ts rotateMonitorPassword) records `next` before the role accepts it and the top level
 * only once it does. While `next` is recorded the role accepts one of the two; clients try both (readLogins).
 */
export const monitorLoginSchema = loginSchema.extend({ next: z.string().min(16, "at least 16 characters").optional() });
export type MonitorLogin = z.output<typeof monitorLoginSchema>;

/**
 * The login a new client of a replication login gets: the pending rotation's while one is recorded (the
 * top level is then the login that rotation retires), else the top level. A subscription created
 * mid-rotation therefore never dials with a password about to be retired.
 */
function currentLogin(doc: ReplicationLogin): Login {
  const from = doc.pending ?? doc;
  return { username: from.username, password: from.password };
}

/**
 * The logins a secret offers, to try in order: a ReplicationLogin's current login; a Login's (MonitorLogin's)
 * `next` password while a rotation records one, then its top level — the role accepts one of them at every
 * moment of that rotation, so a client trying both is never locked out by it.
 */
export async function readLogins(store: SecretStore): Promise<Login[]> {
  const text = await store.read();
  // A replication login is told apart by its standby; each shape is checked with its own schema's messages.
  if (/"standby"\s*:/.test(text)) return [currentLogin(parseDocument(store.ref, text, replicationLoginSchema))];
  const { username, password, next } = parseDocument(store.ref, text, monitorLoginSchema);
  return [...(next === undefined ? [] : [{ username, password: next }]), { username, password }];
}

/** A secret's login to connect with: the first readLogins offers. */
export async function readLogin(store: SecretStore): Promise<Login> {
  return (await readLogins(store))[0]!;
}

/** A fresh password: 32 random bytes, base64url (no character libpq or SQL needs quoted). */
export function newPassword(): string {
  return randomBytes(32).toString("base64url");
}

export class SecretError extends Error {
  override name = "SecretError";
}

export async function readDocument<S extends z.ZodType>(store: SecretStore, schema: S): Promise<z.output<S>> {
  return parseDocument(store.ref, await store.read(), schema);
}

function parseDocument<S extends z.ZodType>(ref: string, text: string, schema: S): z.output<S> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SecretError(`${ref}: not JSON`);
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) throw new SecretError(`${ref}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

export class FileSecretStore implements SecretStore {
  constructor(
    readonly ref: string,
    private readonly path: string,
  ) {}
  async read(): Promise<string> {
    try {
      return readFileSync(this.path, "utf8");
    } catch (e) {
      throw new SecretError(`${this.ref}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  async write(value: string): Promise<void> {
    // Rename is atomic: a reader sees the old document or the new one, never half of one.
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, value, { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

export type SecretRef = { kind: "aws"; region: string; secretId: string } | { kind: "gcp"; name: string } | { kind: "azure"; vault: string; secret: string } | { kind: "file"; path: string };

/** Parse a reference URI; a malformed one names what is wrong. */
export function parseSecretRef(ref: string): SecretRef {
  const m = /^([a-z-]+):\/\/(.*)$/.exec(ref);
  const bad = (why: string) => new SecretError(`secret reference ${JSON.stringify(ref)}: ${why}`);
  if (!m) throw bad("expected <scheme>://…, e.g. aws-secretsmanager://us-east-1/meridian-prod-aws-use1/replication");
  const [, scheme, rest] = m as unknown as [string, string, string];
  switch (scheme) {
    case "aws-secretsmanager": {
      const r = /^([a-z]{2}(-[a-z]+)+-\d)\/([\w/+=.@-]{1,512})$/.exec(rest);
      if (!r) throw bad("expected aws-secretsmanager://<region>/<secret id>");
      return { kind: "aws", region: r[1]!, secretId: r[3]! };
    }
    case "gcp-secretmanager":
      if (!/^projects\/[a-z0-9-]{1,63}\/secrets\/[\w-]{1,255}$/.test(rest)) throw bad("expected gcp-secretmanager://projects/<project>/secrets/<name>");
      return { kind: "gcp", name: rest };
    case "azure-keyvault": {
      const r = /^([a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9])\/([a-zA-Z0-9-]{1,127})$/.exec(rest);
      if (!r) throw bad("expected azure-keyvault://<vault name>/<secret name>");
      return { kind: "azure", vault: r[1]!, secret: r[2]! };
    }
    case "file":
      if (!rest.startsWith("/")) throw bad("expected file:///absolute/path");
      return { kind: "file", path: rest };
    default:
      throw bad(`unknown scheme ${scheme}: use aws-secretsmanager, gcp-secretmanager, azure-keyvault or file`);
  }
}
