/** `meridian map serve`: the verifiable map service (runtime/vmap) on the service kit; `meridian map get`: a read proven against the log. */
import type { Command } from "commander";
import { UserError } from "../errors.js";

export function register(program: Command): void {
  const map = program.command("map").description("a verifiable map (sparse Merkle tree) whose roots are recorded in a proof log");
  map
    .command("serve")
    .description("serve maps over HTTP: proven reads (inclusion, exclusion, batch, key range); writes recorded in the proof log")
    .option("--config <file>", "service config, JSON or YAML: maps, log, writers, and the kit's `server` section")
    .option("--map <name...>", "a map to hold; repeatable")
    .option("--log <url>", "proof log that records every write batch (replayed at start)")
    .option("--data <dir>", "persist map state in this directory (restart replays only the log entries after it)")
    .option("--postgres <url>", "persist map state in PostgreSQL instead (the config's store.schema still applies; default meridian_vmap)")
    .option("--s3 <url>", "persist map state in an S3-compatible bucket, path-style <endpoint>/<bucket>[/<prefix>]; credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY")
    .option("--port <n>", "TCP port (0 picks a free one; default 8080)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (o: { config?: string; map?: string[]; log?: string; data?: string; postgres?: string; s3?: string; port?: string; host?: string }) => {
      if ([o.data, o.postgres, o.s3].filter(Boolean).length > 1) throw new UserError("--data, --postgres and --s3 are alternatives: give one");
      if (o.port !== undefined && !/^[0-9]+$/.test(o.port)) throw new UserError(`--port "${o.port}" must be an integer`);
      const { runService } = await import("../../runtime/kit/index.js");
      const { mapService } = await import("../../runtime/vmap/services.js");
      await runService(mapService, {
        command: "meridian map serve",
        configFile: o.config,
        overrides: {
          server: { port: o.port === undefined ? undefined : Number(o.port), host: o.host },
          maps: o.map,
          log: o.log,
          store: o.data ? { dir: o.data } : o.postgres ? { postgres: o.postgres } : o.s3 ? { s3: o.s3 } : undefined,
        },
      });
    });
  map
    .command("get <map> [key]")
    .description("read one key, proven (inclusion, or exclusion when absent) against the map root in a checkpoint the proof log signed")
    .requiredOption("--url <url>", "the map service")
    .requiredOption("--log <url>", "the proof log its roots are recorded in")
    .requiredOption("--vkey <key>", "the log's verifier key (<origin>+<key id>+<key>): the checkpoint must be signed by it")
    .option("--quota-node <id>", "read the quota service's entry for this node (map key: the id, or its hash for long ids)")
    .action(async (mapName: string, given: string | undefined, o: { url: string; log: string; vkey: string; quotaNode?: string }) => {
      if ((given === undefined) === (o.quotaNode === undefined)) throw new UserError("give the key, or --quota-node <id>: one of the two");
      const { readLogged } = await import("../../runtime/vmap/index.js");
      const { quotaMapKey } = await import("../../runtime/quota/map-publisher.js");
      const key = given ?? quotaMapKey(o.quotaNode!);
      let r;
      try {
        r = await readLogged({ mapUrl: o.url, logUrl: o.log, verifierKey: o.vkey }, mapName, key);
      } catch (e) {
        throw new UserError(`map get ${mapName} ${key}: ${(e as Error).message}`);
      }
      const text = r.value?.toString("utf8");
      let value: unknown = text ?? null;
      try {
        if (text !== undefined) value = JSON.parse(text);
      } catch {
        // not JSON: shown as the text it is
      }
      process.stdout.write(`${JSON.stringify({ ...r, value, proven: r.value === null ? "absent (exclusion proof)" : "present (inclusion proof)" }, null, 2)}\n`);
    });
}
