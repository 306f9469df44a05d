/**
 * One run of a document at a time on this machine. The examples use fixed ports (docs/trust.md's two escrow
 * ledgers on 18241/18242), so a second checkout running the same document — CI while someone runs that
 * document's test, or two branches — found its ports taken or, worse, talked to the first run's servers. (The
 * ledgers' PostgreSQL schemas were fixed names too, dropped by a second run under the first one's feet; the
 * document now names them afresh in each run.)
 *
 * The lock is a listening socket in Linux's abstract namespace, named after the document: binding it is
 * atomic, the kernel releases it when the holder exits however it exits (no stale lock files), and it is
 * shared exactly where the ports are (one network namespace). A waiter connects to the holder and tries
 * again when that connection closes, which happens when the holder releases or dies.
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface DocLock {
  release(): Promise<void>;
}

const socketName = (doc: string) => `\0meridian-docs:${doc}`;

/** Bind the lock's name: the release, or null while another process holds it. */
function tryListen(name: string): Promise<DocLock | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    // Waiters' connections stay open until the release closes them: that is their signal.
    const waiters = new Set<Socket>();
    server.on("connection", (s) => {
      waiters.add(s);
      s.on("error", () => undefined);
      s.on("close", () => waiters.delete(s));
    });
    server.once("error", (e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" ? resolve(null) : reject(e)));
    server.unref();
    server.listen(name, () =>
      resolve({
        release: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of waiters) s.destroy();
          }),
      }),
    );
  });
}

/** Resolves when the holder's connection closes (or the holder is gone already). */
function holderGone(name: string): Promise<void> {
  return new Promise((resolve) => {
    const c = createConnection(name);
    c.on("error", () => resolve());
    c.on("close", () => resolve());
  });
}

/** Wait until no other process on this machine runs `doc`, then hold it until `release()`. */
export async function lockDocument(doc: string): Promise<DocLock> {
  if (process.platform !== "linux") return { release: async () => undefined };
  const name = socketName(doc);
  for (;;) {
    const lock = await tryListen(name);
    if (lock) return lock;
    await holderGone(name);
  }
}
