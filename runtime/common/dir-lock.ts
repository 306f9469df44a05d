/**
 * An exclusive lock on a directory for one process's lifetime (a service's data directory): a lock file
 * created with O_EXCL that holds the owner's pid and, on Linux, its start time (/proc/<pid>/stat field 22).
 * A live owner's lock is refused, naming the pid. A stale one — its owner was killed (kill -9 never removes
 * the file) or its pid now belongs to another process (a different start time) — is taken over, so a crash
 * never blocks the directory for good. Release removes the file only while it is still ours.
 */
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";

export class DirectoryLockedError extends Error {
  override name = "DirectoryLockedError";
  constructor(
    message: string,
    /** The owner's pid, when the lock file names one. */
    readonly pid: number | null,
    readonly path: string,
  ) {
    super(message);
  }
}

export interface DirectoryLock {
  readonly path: string;
  release(): void;
}

interface Holder {
  pid: number;
  start: string | null;
}

/** A process's start time in clock ticks since boot (Linux), or null where /proc does not say. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces and parentheses: count fields from the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(h: Holder): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = startTime(h.pid);
  // The pid is alive; it is the owner unless it provably started at another time (a reused pid).
  return h.start === null || now === null || now === h.start;
}

function readHolder(path: string): Holder | null | "gone" {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw e;
  }
  try {
    const v = JSON.parse(text) as { pid?: unknown; start?: unknown } | number;
    // A bare pid: the lock files of earlier releases (no start time to tell a reused pid).
    if (typeof v === "number") return Number.isInteger(v) && v > 0 ? { pid: v, start: null } : null;
    if (typeof v.pid === "number" && Number.isInteger(v.pid) && v.pid > 0) return { pid: v.pid, start: typeof v.start === "string" ? v.start : null };
  } catch {
    // fall through: unreadable
  }
  return null;
}

/** Take `<dir>/<name>`; throws DirectoryLockedError while another live process (or this one) holds it. */
export function lockDirectory(dir: string, name: string, what = "a running process"): DirectoryLock {
  const path = join(dir, name);
  const mine = JSON.stringify({ pid: process.pid, start: startTime(process.pid) });
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      try {
        writeSync(fd, `${mine}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return {
        path,
        release() {
          // Only our own file: never one a later owner took over after deciding ours was stale.
          if (readHolder(path) !== "gone" && readFileSync(path, "utf8").trim() === mine) rmSync(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = readHolder(path);
    if (holder === "gone") continue;
    if (holder === null) {
      // Created but not yet written (its owner is between open and write), or damaged: stale once it is old.
      if (Date.now() - statSync(path).mtimeMs < 2000) throw new DirectoryLockedError(`${dir} is being locked by another process (${path} is still empty)`, null, path);
    } else if (isAlive(holder)) {
      const who = holder.pid === process.pid ? "this process" : `${what} (pid ${holder.pid})`;
      throw new DirectoryLockedError(`${dir} is in use by ${who}: lock ${path}`, holder.pid, path);
    }
    // Stale: move it aside (atomic), and make sure what moved is the stale file, not a new owner's.
    const aside = `${path}.stale-${randomUUID()}`;
    try {
      renameSync(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    const moved = readHolder(aside);
    if (holder !== null && (moved === null || moved === "gone" || moved.pid !== holder.pid)) {
      // Another process took over between our read and our rename: put its lock back, and give way.
      try {
        linkSync(aside, path);
      } catch {
        // A third process holds the path now; either way it is not ours.
      }
      rmSync(aside, { force: true });
      continue;
    }
    rmSync(aside, { force: true });
  }
  throw new DirectoryLockedError(`${dir}: could not take ${path} (it keeps changing hands)`, null, path);
}
