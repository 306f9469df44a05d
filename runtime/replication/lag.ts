/** A copy's replication lag and its verdict against the bound. Pure. */

export interface CopyLag {
  writer: string;
  /** now − the writer's last stamp in this copy (ms); null when the copy holds no stamp or was unreadable. */
  lagMs: number | null;
  ok: boolean;
  reason: string;
}

export function copyLag(writer: string, nowMs: number, stampMs: number | null, maxLagMs: number, error?: string): CopyLag {
  if (error !== undefined) return { writer, lagMs: null, ok: false, reason: `copy of ${writer} unreadable: ${error}` };
  if (stampMs === null) return { writer, lagMs: null, ok: false, reason: `no heartbeat from ${writer} has reached this copy yet` };
  // A stamp slightly ahead is clock offset between the two regions, not negative lag.
  const lagMs = Math.max(0, nowMs - stampMs);
  if (lagMs > maxLagMs) return { writer, lagMs, ok: false, reason: `copy of ${writer} is ${(lagMs / 1000).toFixed(1)} s behind (bound ${maxLagMs / 1000} s)` };
  return { writer, lagMs, ok: true, reason: `copy of ${writer} is ${(lagMs / 1000).toFixed(1)} s behind` };
}
