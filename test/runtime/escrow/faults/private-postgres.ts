/**
 * A private PostgreSQL primary with a synchronous streaming replica, on ephemeral loopback ports, run
 * as the postgres user (initdb / pg_ctl / pg_basebackup -R from /usr/lib/postgresql/15/bin), and a TCP
 * proxy in front — the service's one address, as a Kubernetes Service or a managed database's endpoint
 * is: a failover kills the primary, promotes the replica, and points the proxy at it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { TcpProxy } from "../../tcp-proxy.js";
import { freePort, readLog, startOnFreePort } from "../../../ports.js";
import { deleteRedisPrefix, uniqueName } from "../servers.js";

const BIN = "/usr/lib/postgresql/15/bin";

function asPostgres(cmd: string, args: string[]): string {
  const r = spawnSync("runuser", ["-u", "postgres", "--", join(BIN, cmd), ...args], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function pgUid(): { uid: number; gid: number } {
  return { uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })) };
}

async function sql(url: string, ...statements: string[]): Promise<pg.QueryResult[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: pg.QueryResult[] = [];
    for (const q of statements) out.push(await c.query(q));
    return out;
  } finally {
    await c.end();
  }
}

/** Start the server initdb'd (or base-backed-up) in `dir` on a free port (a later `port =` line overrides an earlier one). */
function startNode(dir: string, nextPort: () => Promise<number>): Promise<Node> {
  return startOnFreePort({
    start: (port) => {
      appendFileSync(join(dir, "postgresql.conf"), `\nport = ${port}\n`);
      asPostgres("pg_ctl", ["-D", dir, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
      return Promise.resolve(new Node(dir, port));
    },
    log: () => readLog(join(dir, "log")),
    nextPort,
  });
}

class Node {
  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** SIGKILL the postmaster: no shutdown checkpoint, no goodbye to the replica; its backends notice and exit. */
  kill9(): void {
    const pid = Number(readFileSync(join(this.dir, "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(pid, "SIGKILL");
  }

  /** Every process of the server (postmaster and its children) hangs (SIGSTOP) or goes on (SIGCONT); connections stay open. */
  signal(sig: "SIGSTOP" | "SIGCONT"): void {
    const pid = Number(readFileSync(join(this.dir, "postmaster.pid"), "utf8").split("\n")[0]);
    const children = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .stdout.split("\n")
      .filter(Boolean)
      .map(Number);
    // The postmaster first on the way down (it forks no new backend meanwhile), last on the way up.
    for (const p of sig === "SIGSTOP" ? [pid, ...children] : [...children, pid]) process.kill(p, sig);
  }

  stop(): void {
    spawnSync("runuser", ["-u", "postgres", "--", join(BIN, "pg_ctl"), "-D", this.dir, "-m", "immediate", "stop"], { encoding: "utf8" });
  }

  url(db = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }
}

export class PrivatePostgres {
  private constructor(
    readonly root: string,
    public primary: Node,
    public replica: Node | null,
    readonly proxy: TcpProxy,
    private readonly nextPort: () => Promise<number>,
  ) {}

  /** The service's address (through the proxy) for a database. */
  url(db = "postgres"): string {
    return `postgres://postgres@127.0.0.1:${this.proxy.port}/${db}`;
  }

  /**
   * `synchronous: false`: an asynchronous standby (commits do not wait for it; it may lag, pause, stop). `nextPort`:
   * where each server start attempt's port comes from (the primary's, then each replica's).
   */
  static async start(o: { synchronous?: boolean; nextPort?: () => Promise<number> } = {}): Promise<PrivatePostgres> {
    const nextPort = o.nextPort ?? freePort;
    const root = mkdtempSync(join(tmpdir(), "meridian-pg-"));
    const { uid, gid } = pgUid();
    chownSync(root, uid, gid);
    let pgp: PrivatePostgres | undefined;
    let primary: Node | undefined;
    try {
      const dir = join(root, "n0");
      asPostgres("initdb", ["-D", dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
      appendFileSync(
        join(dir, "postgresql.conf"),
        [
          "",
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = '${dir}'`,
          "wal_level = replica",
          "max_wal_senders = 8",
          "hot_standby = on",
          "synchronous_commit = on",
          "fsync = off",
          "shared_buffers = 32MB",
          "max_connections = 60",
          "",
        ].join("\n"),
      );
      writeFileSync(join(dir, "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n");
      primary = await startNode(dir, nextPort);
      pgp = new PrivatePostgres(root, primary, null, await TcpProxy.listen(primary.port), nextPort);
      await pgp.addReplica(o.synchronous ?? true);
      return pgp;
    } catch (err) {
      // Leave nothing running or on disk behind a start that failed.
      if (pgp) await pgp.stop();
      else {
        primary?.stop();
        rmSync(root, { recursive: true, force: true });
      }
      throw err;
    }
  }

  /** Seed a streaming replica from the current primary and wait until it streams (as the synchronous standby, unless not). */
  async addReplica(synchronous = true): Promise<void> {
    const dir = join(this.root, `n${Date.now()}`);
    asPostgres("pg_basebackup", ["-h", "127.0.0.1", "-p", String(this.primary.port), "-U", "postgres", "-D", dir, "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"]);
    appendFileSync(join(dir, "postgresql.conf"), `\nunix_socket_directories = '${dir}'\n`);
    const replica = await startNode(dir, this.nextPort);
    this.replica = replica;
    if (!synchronous) {
      for (let i = 0; i < 200; i++) {
        const [r] = await sql(this.primary.url(), "SELECT state FROM pg_stat_replication");
        if ((r!.rows as { state: string }[]).some((x) => x.state === "streaming")) return;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error("the replica never started streaming");
    }
    // Commits wait for the standby from now on: an acknowledged commit survives the primary's death.
    await sql(this.primary.url(), "ALTER SYSTEM SET synchronous_standby_names = '*'", "SELECT pg_reload_conf()");
    for (let i = 0; i < 200; i++) {
      const [r] = await sql(this.primary.url(), "SELECT sync_state FROM pg_stat_replication");
      if ((r!.rows as { sync_state: string }[]).some((x) => x.sync_state === "sync")) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error("the replica never became the synchronous standby");
  }

  async createDatabase(name: string): Promise<void> {
    await sql(this.url(), `CREATE DATABASE ${name}`);
  }

  /** Make the standby synchronous ('*') or asynchronous (''), and wait until the primary reports it so. */
  async standbyNames(names: "*" | ""): Promise<void> {
    const c = new pg.Client({ connectionString: this.url() });
    await c.connect();
    try {
      await c.query(`ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
      await c.query("SELECT pg_reload_conf()");
      const want = names === "" ? "async" : "sync";
      for (let i = 0; i < 200; i++) {
        if ((await c.query("SELECT sync_state FROM pg_stat_replication")).rows.some((r: { sync_state: string }) => r.sync_state === want)) return;
        await new Promise((res) => setTimeout(res, 50));
      }
      throw new Error(`the standby never became ${want}`);
    } finally {
      await c.end();
    }
  }

  /** The primary dies (kill -9); the replica is promoted; the service's address now leads to it. */
  async failover(): Promise<void> {
    const replica = this.replica!;
    this.primary.kill9();
    asPostgres("pg_ctl", ["-D", replica.dir, "-w", "-t", "60", "promote"]);
    for (let i = 0; i < 200 && ((await sql(replica.url(), "SELECT pg_is_in_recovery() AS r"))[0]!.rows[0] as { r: boolean }).r; i++) await new Promise((res) => setTimeout(res, 50));
    // Alone now: it must not wait for a standby it does not have (until one is seeded again).
    await sql(replica.url(), "ALTER SYSTEM SET synchronous_standby_names = ''", "SELECT pg_reload_conf()");
    this.primary = replica;
    this.replica = null;
    this.proxy.switchTo(replica.port);
  }

  async stop(): Promise<void> {
    await this.proxy.close();
    for (const n of [this.primary, this.replica]) n?.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * A private PostgreSQL (an asynchronous standby) with an `escrow` database, and a fresh Redis key prefix, for one
 * test file's stores: the servers start before its tests; after them they stop and the prefix's keys are deleted.
 */
export function privatePostgresForFile(prefixName: string): { readonly pgp: PrivatePostgres; readonly prefix: string } {
  const prefix = `mes:test:${uniqueName(prefixName)}:`;
  let pgp: PrivatePostgres | undefined;
  beforeAll(async () => {
    pgp = await PrivatePostgres.start({ synchronous: false });
    await pgp.createDatabase("escrow");
  }, 120_000);
  afterAll(async () => {
    await pgp?.stop();
    await deleteRedisPrefix(prefix);
  });
  return {
    get pgp() {
      if (!pgp) throw new Error("the private PostgreSQL is not started (use it inside a test)");
      return pgp;
    },
    prefix,
  };
}

/** An escrow server's readiness and its meridian_escrow_async_standbys_only gauge (standby-check.ts), as a scrape reads them. */
export async function standbyState(url: string): Promise<{ ready: number; gauge: string | undefined }> {
  const ready = await fetch(`${url}/readyz`);
  await ready.arrayBuffer();
  const gauge = /^meridian_escrow_async_standbys_only(?:{[^}]*})? (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1];
  return { ready: ready.status, gauge };
}
