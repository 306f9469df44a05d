// The RLS gRPC listener enforces `callers` in-process with the HTTP check's trust rules, called with a client
// built from Envoy's proto: behind the pod's Istio sidecar (server.identity xfcc) the peer is the last XFCC
// element of the call's metadata, parsed by the kit; with in-process mTLS (server.tls) the verified client SVID.
// Forged, missing and foreign identities are refused UNAUTHENTICATED / PERMISSION_DENIED with a reason; without
// callers the listener stays open (meridian local). And POST /v1/ratelimit/outcomes follows `outcomesCallers`.
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../../model/estate.js";
import { regionWorkloads } from "../../../../model/workloads/spec.js";
import { loadStack } from "../../../../stacks/load.js";
import { GATEWAY_IDENTITY, OPERATOR_IDENTITY, regionIdentity, runtimeService, spiffeId } from "../../../../model/services.js";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { createLocalTrustDomain, type LocalTrustDomain, type Svid } from "../../../../runtime/identity/index.js";
import { startService, type RunningService } from "../../../../runtime/kit/index.js";
import { ratelimitService } from "../../../../runtime/ratelimit/service/service.js";
import { d, rlsClient } from "../rls-client.js";

const TD = "meridian.test";
const SELF = spiffeId(TD, runtimeService("ratelimit"));
const ESCROW = spiffeId(TD, runtimeService("escrow"));
const GATEWAY = spiffeId(TD, GATEWAY_IDENTITY);
const PROOFLOG = spiffeId(TD, runtimeService("prooflog"));
const OPERATOR = spiffeId(TD, OPERATOR_IDENTITY);

const dir = mkdtempSync(join(tmpdir(), "meridian-rl-grpc-auth-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const rules = file("api.yaml", "domain: api\ndescriptors:\n  - key: api_key\n    rate_limit: { unit: minute, requests_per_unit: 1000 }\n");
const REQ = { domain: "api", descriptors: [d([["api_key", "k"]])] };
const AIMD = { initial: 100, min: 1, max: 1000, increase: 10, decrease: 0.5, latencyTargetMs: 100 };
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** The element Istio's inbound sidecar appends: By its own SVID, the verified peer's URI. */
const element = (by: string, uri: string) => `By=${by};Hash=0f1e2d;Subject="";URI=${uri}`;
const md = (...xfcc: string[]) => {
  const m = new grpc.Metadata();
  for (const v of xfcc) m.add("x-forwarded-client-cert", v);
  return m;
};

async function serve(extra: Record<string, unknown>, server: Record<string, unknown>): Promise<RunningService> {
  const running = await startService(ratelimitService, { rules, watch: false, grpc: { port: 0 }, ...extra, server: { host: "127.0.0.1", port: 0, ...server } }, { processMetrics: false });
  closers.push(() => running.close());
  return running;
}
const grpcTarget = (r: RunningService) => new URL(r.endpoints["grpc"]!).host;

describe("behind the pod's Istio sidecar (server.identity xfcc)", () => {
  let rls: ReturnType<typeof rlsClient>;
  beforeAll(async () => {
    const running = await serve({ callers: [GATEWAY, ESCROW] }, { identity: { xfcc: "istio-sidecar", spiffeId: SELF } });
    rls = rlsClient(grpcTarget(running));
    closers.push(async () => rls.close());
  });
  const refusal = async (m: grpc.Metadata) => (await rls.exchange(REQ, m)).error;

  it("admits a listed caller the sidecar verified", async () => {
    const r = await rls.exchange(REQ, md(element(SELF, ESCROW)));
    expect(r.error).toBeUndefined();
    expect(r.response!.overall_code).toBe("OK");
    expect((await rls.exchange(REQ, md(element(SELF, GATEWAY)))).response?.overall_code).toBe("OK");
  });

  it("refuses a call without identity UNAUTHENTICATED, naming what is required", async () => {
    const e = await refusal(new grpc.Metadata());
    expect(e?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(e?.details).toContain(`ShouldRateLimit requires an mTLS peer with SPIFFE ID ${GATEWAY} or ${ESCROW}`);
  });

  it("refuses a verified caller that is not listed PERMISSION_DENIED", async () => {
    const e = await refusal(md(element(SELF, PROOFLOG)));
    expect(e?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(e?.details).toBe(`${PROOFLOG} is not allowed: an mTLS peer with SPIFFE ID ${GATEWAY} or ${ESCROW} required`);
  });

  it("refuses forged XFCC: only the last element is the sidecar's, and only with By= this pod", async () => {
    // A caller-written element naming an allowed peer, before the sidecar's (which names the real caller).
    expect((await refusal(md(`${element(SELF, ESCROW)},${element(SELF, PROOFLOG)}`)))?.code).toBe(grpc.status.PERMISSION_DENIED);
    // Two metadata lines reach the app as one value (Node's HTTP/2 joins them with ", "): still the last decides.
    expect((await refusal(md(element(SELF, ESCROW), element(SELF, PROOFLOG))))?.code).toBe(grpc.status.PERMISSION_DENIED);
    const cases: [string[], RegExp][] = [
      [[`URI=${ESCROW}`], /exactly one By/],
      [[element("spiffe://meridian.test/ns/other/sa/proxy", ESCROW)], /is not this pod's sidecar/],
      [[`${element(SELF, ESCROW)};URI=${GATEWAY}`], /names 2 URIs/],
      // An unbalanced quote swallows what follows: the header is malformed, never another peer.
      [[`By=${SELF};Subject="x,By=${SELF};URI=${ESCROW}`], /unterminated quoted value/],
      [[element(SELF, "https://escrow.example")], /URI/],
    ];
    for (const [values, why] of cases) {
      const e = await refusal(md(...values));
      expect(e?.code, values.join(" | ")).toBe(grpc.status.UNAUTHENTICATED);
      expect(e?.details, values.join(" | ")).toMatch(/^x-forwarded-client-cert refused: /);
      expect(e?.details, values.join(" | ")).toMatch(why);
    }
  });
});

describe("in-process mTLS (server.tls): the verified client SVID", () => {
  let ca: LocalTrustDomain;
  const svids: Record<string, Svid> = {};
  let target: string;
  const client = (svid?: Svid) =>
    rlsClient(
      target,
      grpc.credentials.createSsl(Buffer.from(ca.bundle), svid ? Buffer.from(svid.key) : null, svid ? Buffer.from(svid.cert) : null, {
        // SPIFFE authenticates the server by its ID, not a host name (the SVID has no DNS SAN).
        checkServerIdentity: () => undefined,
      }),
    );
  beforeAll(async () => {
    const clock = new ManualClock(Date.now());
    ca = await createLocalTrustDomain(TD, clock);
    const rogue = await createLocalTrustDomain(TD, clock);
    for (const [name, id] of Object.entries({ self: SELF, escrow: ESCROW, operator: OPERATOR })) svids[name] = await ca.issueSvid(id);
    svids["rogue"] = await rogue.issueSvid(ESCROW);
    const tls = { cert: file("self.crt", svids["self"]!.cert), key: file("self.key", svids["self"]!.key), bundle: file("bundle.pem", ca.bundle) };
    target = grpcTarget(await serve({ callers: [ESCROW] }, { tls }));
  });
  const call = async (svid?: Svid) => {
    const c = client(svid);
    try {
      return await c.exchange(REQ, md(element(SELF, ESCROW)));
    } finally {
      c.close();
    }
  };

  it("admits a listed SVID, and reads no XFCC", async () => {
    expect((await call(svids["escrow"])).response?.overall_code).toBe("OK");
    // Without a client certificate the forged XFCC metadata the call carries is not an identity.
    const anon = await call();
    expect(anon.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(anon.error?.details).toContain("present an X.509-SVID (mTLS)");
  });

  it("refuses an unlisted SVID PERMISSION_DENIED and one from a CA outside the bundle UNAUTHENTICATED", async () => {
    const op = await call(svids["operator"]);
    expect(op.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(op.error?.details).toContain(`${OPERATOR} is not allowed`);
    expect((await call(svids["rogue"])).error?.code).toBe(grpc.status.UNAUTHENTICATED);
  });
});

describe("without callers (meridian local)", () => {
  it("the listener is open, as Envoy's RLS, and reads no identity", async () => {
    const rls = rlsClient(grpcTarget(await serve({}, {})));
    closers.push(async () => rls.close());
    expect((await rls.exchange(REQ)).response?.overall_code).toBe("OK");
    expect((await rls.exchange(REQ, md('garbage"='))).response?.overall_code).toBe("OK");
  });
});

describe("POST /v1/ratelimit follows httpCallers", () => {
  const post = (url: string, who: string) =>
    fetch(`${url}/v1/ratelimit`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-client-cert": element(SELF, who) },
      body: JSON.stringify({ domain: "api", descriptors: [{ entries: [{ key: "api_key", value: "k" }] }] }),
    }).then((r) => r.status);
  const identity = { identity: { xfcc: "istio-sidecar", spiffeId: SELF } };

  it("a caller allowed the gRPC check but not httpCallers is refused the HTTP check; gRPC still answers it", async () => {
    const running = await serve({ callers: [GATEWAY, ESCROW], httpCallers: [ESCROW], grpc: { port: 0 } }, identity);
    expect(await post(running.url, GATEWAY)).toBe(403);
    expect(await post(running.url, ESCROW)).toBe(200);
    const rls = rlsClient(grpcTarget(running));
    closers.push(async () => rls.close());
    expect((await rls.exchange(REQ, md(element(SELF, GATEWAY)))).response?.overall_code).toBe("OK");
  });

  it("defaults to callers", async () => {
    const { url } = await serve({ callers: [GATEWAY, ESCROW] }, identity);
    expect(await post(url, GATEWAY)).toBe(200);
    expect(await post(url, PROOFLOG)).toBe(403);
  });
});

describe("POST /v1/ratelimit/outcomes follows outcomesCallers", () => {
  const post = (url: string, path: string, who: string, body: unknown) =>
    fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-client-cert": element(SELF, who) }, body: JSON.stringify(body) }).then((r) => r.status);
  const check = { domain: "api", descriptors: [{ entries: [{ key: "api_key", value: "k" }] }] };
  const outcome = { good: 10, bad: 0 };
  const identity = { identity: { xfcc: "istio-sidecar", spiffeId: SELF } };

  it("the gateway may check but not report; a listed service may report", async () => {
    const { url } = await serve({ callers: [GATEWAY, ESCROW], outcomesCallers: [ESCROW], aimd: AIMD }, identity);
    expect(await post(url, "/v1/ratelimit", GATEWAY, check)).toBe(200);
    expect(await post(url, "/v1/ratelimit/outcomes", GATEWAY, outcome)).toBe(403);
    expect(await post(url, "/v1/ratelimit/outcomes", ESCROW, outcome)).toBe(200);
    expect(await post(url, "/v1/ratelimit/outcomes", PROOFLOG, outcome)).toBe(403);
  });

  it("defaults to callers", async () => {
    const { url } = await serve({ callers: [GATEWAY, ESCROW], aimd: AIMD }, identity);
    expect(await post(url, "/v1/ratelimit/outcomes", GATEWAY, outcome)).toBe(200);
    expect(await post(url, "/v1/ratelimit/outcomes", PROOFLOG, outcome)).toBe(403);
  });
});

describe("the blueprint's rendered config (prod)", () => {
  const spec = buildEstateSpec("prod", loadStack("prod"));
  const td = spec.pki.trustDomain;
  const rendered = JSON.parse(regionWorkloads(spec, spec.regions[0]!.id).find((w) => w.service.name === "ratelimit")!.config["ratelimit.json"]!) as Record<string, unknown> & {
    server: Record<string, unknown> & { identity: { spiffeId: string } };
  };
  const gateway = spiffeId(td, GATEWAY_IDENTITY);
  const escrow = spiffeId(td, runtimeService("escrow"));
  const self = rendered.server.identity.spiffeId;
  // The other rate limiters, each region's by its own identity.
  const limiters = spec.regions.map((r) => spiffeId(td, regionIdentity(runtimeService("ratelimit"), r.id)));

  it("lets the gateway check over gRPC only (Envoy's filter; a check over HTTP is the services'), and report outcomes only from the services", async () => {
    expect(rendered["callers"]).toContain(gateway);
    expect(rendered["httpCallers"]).toEqual([escrow, ...limiters].sort());
    expect(rendered["outcomesCallers"]).toEqual([escrow, ...limiters].sort());
    // As rendered, with what a test cannot provide swapped: the rules file, the ports, no time reference to reach.
    const { server, timeReference: _, ...service } = rendered;
    const running = await serve({ ...service, rules, grpc: { port: 0 }, aimd: AIMD }, server);
    const rls = rlsClient(grpcTarget(running));
    closers.push(async () => rls.close());
    expect((await rls.exchange(REQ, md(element(self, gateway)))).response?.overall_code).toBe("OK");
    expect((await rls.exchange(REQ, md(element(self, spiffeId(td, runtimeService("quota")))))).error?.code).toBe(grpc.status.PERMISSION_DENIED);
    const post = (path: string, who: string, body: unknown) =>
      fetch(`${running.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-client-cert": element(self, who) }, body: JSON.stringify(body) }).then(
        (r) => r.status,
      );
    // The gateway's identity cannot charge a bucket named in a body (0c707f7 keeps the route off the internet; this keeps
    // the gateway's own identity, should its routes ever forward one, from doing it).
    expect(await post("/v1/ratelimit", gateway, { domain: "api", descriptors: [{ entries: [{ key: "api_key", value: "k" }] }] })).toBe(403);
    expect(await post("/v1/ratelimit", escrow, { domain: "api", descriptors: [{ entries: [{ key: "api_key", value: "k" }] }] })).toBe(200);
    expect(await post("/v1/ratelimit/outcomes", gateway, { good: 1, bad: 0 })).toBe(403);
    expect(await post("/v1/ratelimit/outcomes", escrow, { good: 1, bad: 0 })).toBe(200);
  });
});
