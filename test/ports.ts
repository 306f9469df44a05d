/**
 * Ports for the tests' own servers (private redis-server and PostgreSQL instances). A port free when asked for can be
 * bound by another process before the server binds it (vitest runs files side by side, and they bind ports all the
 * time): `startOnFreePort` then starts the server again on another port. Any other failure carries the server log's
 * own last lines, which would otherwise go with the server's temp dir.
 */
import { readFileSync } from "node:fs";
import net from "node:net";

/** A loopback port nothing listened on a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** What PostgreSQL and redis-server log when their listening socket cannot bind. */
export const BIND_FAILED = /could not bind|address already in use|could not create server tcp listening socket/i;

/** A log file's text as it is now; "" before the server has written one. */
export function readLog(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** The last lines of a log, for an error message. */
function logTail(log: string, lines = 15): string {
  return log.trimEnd().split("\n").slice(-lines).join("\n");
}

interface FreePortStart<T> {
  /** Start the server on `port`; throws when it did not come up. */
  start: (port: number) => Promise<T>;
  /** The server's log as it is now: an attempt's lines are those written after the attempt began. */
  log: () => string;
  /** Where each attempt's port comes from. */
  nextPort?: () => Promise<number>;
  /** Attempts at most (a bind failure on the last one fails too). */
  attempts?: number;
}

/** Start a server on a free port, moving to another when the log says its bind failed (three attempts by default). */
export async function startOnFreePort<T>(o: FreePortStart<T>): Promise<T> {
  const nextPort = o.nextPort ?? freePort;
  const attempts = o.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const seen = o.log().length; // servers append to their log: this attempt's lines follow the last one's
    try {
      return await o.start(await nextPort());
    } catch (err) {
      const log = o.log().slice(seen);
      if (attempt < attempts && BIND_FAILED.test(log)) continue;
      throw new Error(`${(err as Error).message}\nserver log:\n${logTail(log)}`, { cause: err });
    }
  }
}
