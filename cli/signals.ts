/** A long-running command's shutdown: on SIGTERM (Kubernetes) or SIGINT (Ctrl-C), close, then exit 0. */
export function closeOnSignal(close: () => Promise<unknown>): void {
  const stop = () => void close().finally(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
