/**
 * The logical-replication Jobs run as their pods would: the files their ConfigMaps hold are written where
 * the volume would be mounted, and each Job's own command runs with the Job's environment (plus the
 * ports and CA bundle a test must supply), and nothing else from the test's environment. The logins are
 * files under LOGIN_DIR, where the Jobs' init container (`meridian replication credentials`) writes them.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import { MONITOR_LOGIN_SCRIPT, PUBLISH_SCRIPT, SQL_DIR, publicationSql, subscriptionScript } from "../../../components/replication/logical.js";
import { writeLoginFiles } from "../../../runtime/replication/credentials.js";
import type { PrivatePg, TestCa } from "./private-pg.js";

export class ReplicationJobs {
  readonly sqlDir: string;

  constructor(
    private readonly root: string,
    private readonly ca: TestCa,
    private readonly password: string,
    writer: string,
    feeder: string,
    /** The subscriber's region id (names its replication slot on the publisher). */
    target = "test-target",
  ) {
    this.sqlDir = join(root, "sql");
    mkdirSync(this.sqlDir, { recursive: true });
    mkdirSync(join(root, "tmp"), { recursive: true });
    writeFileSync(join(this.sqlDir, "publish.sh"), PUBLISH_SCRIPT);
    writeFileSync(join(this.sqlDir, "publication.sql"), publicationSql(writer));
    writeFileSync(join(this.sqlDir, "subscribe.sh"), subscriptionScript(writer, feeder, target));
    writeFileSync(join(this.sqlDir, "monitor-login.sh"), MONITOR_LOGIN_SCRIPT);
  }

  /**
   * A LOGIN_DIR as the init container leaves it: `admin/`, `source/` and `target/` logins (postgres and the
   * test password unless given), under `name`; a side given as null is left out (the init step never ran).
   */
  logins(name: string, sides: Partial<Record<"admin" | "source" | "target", { username: string; password: string } | null>> = {}): string {
    const dir = join(this.root, "login", name);
    for (const side of ["admin", "source", "target"] as const) {
      const login = side in sides ? sides[side] : { username: "postgres", password: this.password };
      if (login) writeLoginFiles(join(dir, side), login);
    }
    return dir;
  }

  /** Run a Job's command from its mounted files, with only the given environment (no stray PG* vars). */
  run(command: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
    const [cmd, ...args] = command.map((a) => a.split(`${SQL_DIR}/`).join(`${this.sqlDir}/`));
    const r = spawnSync(cmd!, args, { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", TMPDIR: join(this.root, "tmp"), ...env }, encoding: "utf8", timeout: 120_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** The publication Job's environment (components/replication/logical.ts), with the test server's port and CA. */
  publicationEnv(server: PrivatePg, overrides: Record<string, string> = {}): Record<string, string> {
    return {
      PGHOST: "127.0.0.1",
      PGDATABASE: DATABASE_NAME,
      PGSSLMODE: "verify-full",
      PGPORT: String(server.port),
      PGSSLROOTCERT: this.ca.bundle,
      LOGIN_DIR: this.logins("default"),
      ...overrides,
    };
  }

  subscriptionEnv(source: PrivatePg, target: PrivatePg, overrides: Record<string, string> = {}): Record<string, string> {
    return {
      SOURCE_HOST: "127.0.0.1",
      TARGET_HOST: "127.0.0.1",
      SOURCE_PORT: String(source.port),
      TARGET_PORT: String(target.port),
      PGSSLROOTCERT: this.ca.bundle,
      LOGIN_DIR: this.logins("default"),
      ...overrides,
    };
  }
}
