/** The replication login both rotation tests start from: role a current, role b the standby a rotation switches to. */
import type { ReplicationLogin } from "../../../runtime/replication/secret-store.js";

export const WRITER = "aws-use1";
export const FIRST_LOGIN: ReplicationLogin = {
  username: "meridian_replication_a",
  password: "first-password-of-role-a-0000",
  standby: { username: "meridian_replication_b", password: "first-password-of-role-b-0000" },
};
