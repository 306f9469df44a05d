/** Poll `fn` every 25 ms until it gives a value (not undefined), for at most 30 s; then fail naming `what`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 25))) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}
