// `meridian log witness` on the kit: the hostile-input suite against the witness's HTTP edge. Its state — the
// latest cosigned checkpoint — must not move for any hostile request.
import { afterAll, beforeAll } from "vitest";
import { startService } from "../../../../runtime/kit/index.js";
import { ALG_COSIGNATURE_V1, generateKey } from "../../../../runtime/prooflog/note.js";
import { witnessService } from "../../../../runtime/prooflog/witness/service.js";
import { hostileHttpSuite } from "../../../hostile.js";

const ORIGIN = "meridian.test/hostile";
const logKey = generateKey(ORIGIN);
const witnessKey = generateKey("w.test/witness", ALG_COSIGNATURE_V1);
let svc: Awaited<ReturnType<typeof start>>;
const start = () =>
  startService(
    witnessService,
    { key: witnessKey.signerKey, logs: [logKey.verifierKey], data: ":memory:", server: { port: 0, timeouts: { headersMs: 500, requestMs: 1000 } } },
    { processMetrics: false },
  );

beforeAll(async () => {
  svc = await start();
});
afterAll(() => svc?.close());

hostileHttpSuite("meridian log witness", () => ({
  url: svc.url,
  routes: [
    { method: "POST", path: "/add-checkpoint" },
    { method: "GET", path: `/${"0".repeat(64)}/checkpoint` },
  ],
  state: async () => ({ latest: await svc.parts.witness.latest(Buffer.alloc(32).toString("hex")), misbehaviour: svc.parts.misbehaviours.length }),
  slowlorisWaitMs: 4000,
}));
