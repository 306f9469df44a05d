/**
 * The worker thread's side of transitions-thread.ts: the served transition log (transitions-open-served.ts `openServedLog`:
 * kept in PostgreSQL or this process's own) lives here, with its state tree, Merkle tree and store writes. It logs the
 * events its parent sends in slices (so a call waits one slice at most), answers the parent's calls, stores on the
 * parent's interval and reports each durable checkpoint (the parent's anchor publishes it). A kept log's anchor check
 * asks the parent for the map's anchors (the map client and its credentials stay there).
 */
import { parentPort, workerData } from "node:worker_threads";
import { systemClock } from "../../common/clock.js";
import { judgeAnchors } from "./transitions-anchor-judge.js";
import { openServedLog } from "./transitions-open-served.js";
import type { FromWorker, ThreadInit, ToWorker } from "./transitions-thread.js";

/** The longest the log hashes before the thread turns (events and calls wait at most this long). */
const SLICE_MS = 10;

const port = parentPort!;
const init = workerData as ThreadInit;
const send = (m: FromWorker): void => port.postMessage(m);

const asked = new Map<number, (anchors: unknown) => void>();
let asks = 0;

port.on("message", (m: ToWorker) => void onMessage(m));

const served = await openServedLog(init.settings, {
  clock: systemClock,
  onError: (err) => send({ t: "warn", message: err.message }),
  check: init.checked
    ? (log) =>
        new Promise<Parameters<typeof judgeAnchors>[0]>((resolve) => {
          const id = ++asks;
          asked.set(id, resolve as (a: unknown) => void);
          send({ t: "anchors?", id, origin: log.sequencer.origin });
        }).then((anchors) => judgeAnchors(anchors, log))
    : undefined,
}).catch((err: Error) => {
  send({ t: "failed", error: err.message });
  return undefined;
});

const log = served?.log;
let pumping = false;
/** Events taken off the port. */
let received = 0;
/** Log what is queued, a slice at a time, until nothing is (a kept log's restore holds it: then its end pumps). */
function pump(): void {
  pumping = false;
  if (!log || log.restoring || log.backlog === 0) return;
  log.flush(SLICE_MS);
  if (log.backlog > 0) schedule();
}
function schedule(): void {
  if (pumping) return;
  pumping = true;
  setImmediate(pump);
}

if (served) {
  const restored = served;
  void served.restored.then(() => {
    // Nothing queued was logged before this (a restore holds the queue): the parent counts what is logged after it.
    send({ t: "restored", size: restored.log.sequencer.log.size });
    schedule();
  });
  send({ t: "ready", origin: served.origin, epoch: served.epoch, current: served.current() });
}

async function onMessage(m: ToWorker): Promise<void> {
  if (m.t === "anchors") {
    asked.get(m.id)?.(m.anchors);
    asked.delete(m.id);
    return;
  }
  if (!served || !log) return;
  if (m.t === "events") {
    for (const p of m.events) log.enqueue(p);
    send({ t: "took", n: (received += m.events.length) }); // the parent stops sending to a thread that takes nothing
    schedule();
  } else if (m.t === "seal") {
    if (!log.sealed) log.seal(m.reason);
  } else if (m.t === "start") {
    served.start(m.ms, () => send({ t: "synced", current: served.current() }));
  } else if (m.t === "call") {
    try {
      const value =
        m.m === "status" ? await served.status(m.budgetMs) : m.m === "entries" ? served.entries(m.start, m.limit) : m.m === "consistency" ? served.consistency(m.old, m.next) : await served.close();
      send({ t: "reply", id: m.id, value });
      if (m.m === "status") schedule();
    } catch (err) {
      send({ t: "reply", id: m.id, error: (err as Error).message });
    }
  }
}
