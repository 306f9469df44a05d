// The transition log's worker (transitions-worker.ts) as it runs, plus what transitions-thread-adversarial.test.ts
// does to it: a message `{ t: "sabotage", do }` makes it hang (a long loop), throw, or exit; `settings.sabotage:
// "exit-at-open"` makes it exit before it is ready.
import { parentPort, workerData } from "node:worker_threads";

type Sabotage = { t: "sabotage"; do: "hang"; ms: number } | { t: "sabotage"; do: "throw" | "exit" };

if ((workerData as { settings: { sabotage?: string } }).settings.sabotage === "exit-at-open") process.exit(7);

parentPort!.on("message", (m: Sabotage | { t: string }) => {
  if (m.t !== "sabotage") return;
  const s = m as Sabotage;
  if (s.do === "hang") {
    const until = Date.now() + s.ms;
    while (Date.now() < until); // stuck: no message, timer or reply is served meanwhile
  } else if (s.do === "throw") throw new Error("sabotaged: an exception inside the worker");
  else process.exit(3);
});

await import("../../../../runtime/escrow/transport/transitions-worker.js");
