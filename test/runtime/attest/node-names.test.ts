// A node is named by the request body and looked up in the verifier's config: a name every object inherits
// ("constructor", "__proto__", "toString") is no configured node, on every route that looks one up.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService, type LocalOperatorAuth, type RunningService } from "../../../runtime/kit/index.js";
import { attestService } from "../../../runtime/attest/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";

let svc: RunningService;
let op: LocalOperatorAuth;

beforeAll(async () => {
  op = await localOperatorAuth(systemClock);
  svc = await startService(attestService, { key: generateKey("meridian-attest-names").signerKey, nodes: {}, server: { port: 0, auth: op.auth } }, { clock: systemClock, processMetrics: false });
});
afterAll(async () => {
  await svc?.close();
});

const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const r = await fetch(`${svc.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe("node names that are properties of every object", () => {
  it("are unknown nodes: 404 on verify, enrol and revoke, never a 500 or a 400 about their 'format'", async () => {
    const operator = { authorization: `Bearer ${await op.token()}` };
    for (const node of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const verify = await post("/v1/attest/verify", { node, nonce: "00", message: "AA==", signature: "AA==", pcrs: "AA==" });
      expect({ node, route: "verify", status: verify.status }).toEqual({ node, route: "verify", status: 404 });
      const enrol = await post("/v1/attest/enrol", { node, ekCert: "AA==", akPublic: "AA==" });
      expect({ node, route: "enrol", status: enrol.status }).toEqual({ node, route: "enrol", status: 404 });
      const revoke = await post("/v1/attest/revoke", { node, reason: "test" }, operator);
      expect({ node, route: "revoke", status: revoke.status }).toEqual({ node, route: "revoke", status: 404 });
    }
  });
});
