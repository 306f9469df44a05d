/** The replication login the rotation and credentials tests start from: role a current, role b the standby a rotation switches to. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
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
