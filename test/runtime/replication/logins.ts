/** The replication login the rotation and credentials tests start from: role a current, role b the standby a rotation switches to. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { expect } from "vitest";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import type { ReplicationLogin } from "../../../runtime/replication/secret-store.js";

export const WRITER = "aws-use1";
export const FIRST_LOGIN: ReplicationLogin = {
  username: "meridian_replication_a",
  password: "first-password-of-role-a-0000",
  standby: { username: "meridian_replication_b", password: "first-password-of-role-b-0000" },
};

/** A secret-manager secret as a `file://` URL (what the runtime reads in tests): `doc` written as `dir/name`. */
export function fileSecret(dir: string, name: string, doc: object): string {
  writeFileSync(join(dir, name), JSON.stringify(doc));
  return `file://${join(dir, name)}`;
}

/** Whether `user`/`password` may log in to the publisher at `port` (any refusal but a wrong password fails the test). */
export async function canLogIn(port: number, user: string, password: string): Promise<boolean> {
  const c = new pg.Client({ host: "127.0.0.1", port, database: DATABASE_NAME, user, password, ssl: { rejectUnauthorized: false } });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch (e) {
    expect((e as Error).message).toMatch(/password authentication failed/);
    return false;
  }
}
