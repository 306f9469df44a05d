/**
 * Starting independent services at once, with the clean-up of a sequential start: every start is awaited, settled
 * or not, before the first failure is thrown — a start still under way when another failed would register its
 * closer after the caller had already closed everything, and leave its service running.
 */
export async function allStarted<T extends readonly unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
