/**
 * `log serve --min-index`: once the published checkpoint reaches the minimum, delete the entry bundles at or below it
 * (C2SP tlog-tiles pruning, opt-in). Done only when the store's prune resolves: a failed prune is retried on the next
 * tick, and one cut short before this start (its minimum recorded, some bundles left) is finished, since the store
 * resumes where it stopped.
 */
import type { TransparencyLog } from "./log.js";

/** The size of the log's published checkpoint (0 before it has one). */
export function publishedSize(log: TransparencyLog): number {
  try {
    return log.checkpoint().checkpoint.size;
  } catch {
    return 0;
  }
}

interface PruneLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Checks every `intervalMs` until the prune is done; `stop()` on shutdown. */
export function startPruner(log: TransparencyLog, minIndex: number, intervalMs: number, logger: PruneLogger): { stop(): void } {
  let pruning: "wait" | "running" | "done" = "wait";
  const timer = setInterval(() => {
    if (pruning !== "wait" || publishedSize(log) < minIndex) return;
    pruning = "running";
    log.prune(minIndex).then(
      (removed) => {
        pruning = "done";
        logger.info({ minIndex, removed }, "pruned entry bundles");
      },
      (e: unknown) => {
        pruning = "wait";
        logger.error({ err: e }, "pruning");
      },
    );
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
