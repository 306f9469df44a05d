/**
 * `meridian log prune`: C2SP tlog-tiles pruning of a stopped log's store (runtime/prooflog/recover.ts's pruneStore).
 * The stores load only when the command runs, not on every `meridian` start.
 */
import type { Command } from "commander";
import { intArg } from "../args.js";
import { UserError } from "../errors.js";

export function registerPrune(log: Command): void {
  log
    .command("prune")
    .description(
      "C2SP tlog-tiles pruning: delete the entry bundles that end at or below --min-index from a stopped log's store (hash tiles, partial tiles and the checkpoint stay, so proofs for later entries still verify)",
    )
    .option("--data <dir>", "the embedded file store's directory")
    .option("--postgres <url>", "a PostgreSQL store (with --origin)")
    .option("--s3 <url>", "an S3-compatible bucket URL (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
    .option("--origin <origin>", "the log's checkpoint origin (PostgreSQL)")
    .requiredOption("--min-index <n>", "the minimum index: at most the log's integrated size")
    .option("--lock-wait <ms>", "PostgreSQL: wait this long for the single-writer lock", "0")
    .option("--chunk <bundles>", "PostgreSQL: entry bundles deleted per transaction (each records how far it reached)", "256")
    .action(async (o: { data?: string; postgres?: string; s3?: string; origin?: string; minIndex: string; lockWait: string; chunk: string }) => {
      if ([o.data, o.postgres, o.s3].filter((x) => x !== undefined).length !== 1) throw new UserError("give exactly one store: --data <dir>, --postgres <url> or --s3 <url>");
      const env = process.env;
      if (o.s3 !== undefined && (!env["AWS_ACCESS_KEY_ID"] || !env["AWS_SECRET_ACCESS_KEY"])) throw new UserError("--s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
      if (o.postgres !== undefined && o.origin === undefined) throw new UserError("--postgres needs --origin <origin>");
      const minIndex = intArg(o.minIndex, "--min-index");
      const { pruneStore, PruneRefusedError } = await import("../../runtime/prooflog/recover.js");
      const store =
        o.postgres !== undefined
          ? new (await import("../../runtime/prooflog/storage/postgres.js")).PostgresStore(o.postgres, o.origin!, {
              lockWaitMs: intArg(o.lockWait, "--lock-wait"),
              pruneChunk: intArg(o.chunk, "--chunk", 1),
            })
          : o.s3 !== undefined
            ? new (await import("../../runtime/prooflog/storage/s3.js")).S3Store({
                url: o.s3,
                accessKeyId: env["AWS_ACCESS_KEY_ID"]!,
                secretAccessKey: env["AWS_SECRET_ACCESS_KEY"]!,
                sessionToken: env["AWS_SESSION_TOKEN"],
                region: env["AWS_REGION"],
              })
            : new (await import("../../runtime/prooflog/storage/file.js")).FileStore(o.data!);
      try {
        const r = await pruneStore(store, minIndex);
        process.stdout.write(`pruned ${store.description} to minimum index ${minIndex}: ${r.removed} entry bundles deleted; the log holds ${r.size} entries\n`);
      } catch (e) {
        if (e instanceof PruneRefusedError || (e instanceof Error && /CorruptStoreError|WriterLockError|DirectoryLockedError|S3StoreError/.test(e.name))) throw new UserError(e.message);
        throw e;
      }
    });
}
