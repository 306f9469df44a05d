/**
 * End a PostgreSQL session that holds session-level advisory locks, releasing them first. PostgreSQL releases a
 * closed session's locks only once its backend has exited, a moment after the client's end() has returned, so a
 * successor opening right after a clean close (a restart, a handover) could still find the lock held and refuse.
 * A session that dies without this still loses its locks: that is what makes them single-writer fences.
 */
export async function endLockSession(session: { query(sql: string): Promise<unknown>; end(): Promise<void> } | null | undefined): Promise<void> {
  if (!session) return;
  await session.query("SELECT pg_advisory_unlock_all()").catch(() => undefined);
  await session.end().catch(() => undefined);
}
