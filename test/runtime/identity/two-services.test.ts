// Two real runtime services on the kit, each serving mTLS with its own X.509-SVID from one test trust domain:
// ratelimit (callers from the service catalogue on POST /v1/ratelimit, the operator on its admin routes) and the
// grandmaster (the operator on its drill routes). Calls between them and from the catalogue's identities show the
// in-process authorizer admitting exactly the allowed SPIFFE IDs — the defence that holds when no mesh does, as in
// `meridian local --mtls` — and refusing every forged identity: an SVID from a CA outside the bundle with the
// allowed URI SAN, a verified SVID of another trust domain, an expired SVID, and headers claiming an identity.
import { mkdtempSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NAMESPACES } from "../../../model/estate.js";
import { OPERATOR_IDENTITY, allowedCallerIds, regionIdentity, runtimeService, spiffeId, type WorkloadIdentity } from "../../../model/services.js";
import { GRANDMASTER } from "../../../model/time/hierarchy.js";
import { grandmasterService } from "../../../runtime/clock/grandmaster-service.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { allowIds, createLocalTrustDomain, mtlsClientOptions, type LocalTrustDomain, type Svid } from "../../../runtime/identity/index.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { ratelimitService } from "../../../runtime/ratelimit/service/service.js";

const TD = "meridian.test";
const id = (w: WorkloadIdentity, td = TD) => spiffeId(td, w);
// One region's rate limiter (each region has its own identity).
const RATELIMIT = id(regionIdentity(runtimeService("ratelimit"), "eu"));
const ESCROW = id(runtimeService("escrow"));
const OPERATOR = id(OPERATOR_IDENTITY);
const GRANDMASTER_ID = id({ namespace: NAMESPACES.time, serviceAccount: GRANDMASTER.name });

const dir = mkdtempSync(join(tmpdir(), "meridian-two-services-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const tlsFiles = (name: string, svid: Svid, bundle: string) => ({ cert: file(`${name}.crt`, svid.cert), key: file(`${name}.key`, svid.key), bundle: file(`${name}-bundle.pem`, bundle) });

// The trust domain's CA starts two hours back, so it can mint an SVID that has already expired.
const caClock = new ManualClock(Date.now() - 2 * 3600_000);
let ca: LocalTrustDomain;
/** A federated trust domain ratelimit's bundle also holds: its SVIDs verify, but name no allowed caller. */
let federated: LocalTrustDomain;
/** A CA nobody trusts, minting the allowed caller's exact URI SAN. */
let rogue: LocalTrustDomain;
const svids: Record<string, Svid> = {};
let ratelimit: RunningService;
let grandmaster: RunningService;

beforeAll(async () => {
  ca = await createLocalTrustDomain(TD, caClock, 86400);
  svids["expired"] = await ca.issueSvid(ESCROW, { ttlSeconds: 60 });
  caClock.set(Date.now());
  federated = await createLocalTrustDomain("partner.test", caClock);
  rogue = await createLocalTrustDomain(TD, caClock);
  for (const [name, who] of Object.entries({ ratelimit: RATELIMIT, grandmaster: GRANDMASTER_ID, escrow: ESCROW, operator: OPERATOR })) svids[name] = await ca.issueSvid(who);
  svids["rogue"] = await rogue.issueSvid(ESCROW);
  svids["partner"] = await federated.issueSvid(id(runtimeService("escrow"), "partner.test"));

  const operators = { spiffe: [OPERATOR] };
  const rules = file("api.yaml", "domain: api\ndescriptors:\n  - key: api_key\n    rate_limit: { unit: minute, requests_per_unit: 100 }\n");
  ratelimit = await startService(
    ratelimitService,
    {
      rules,
      watch: false,
      grpc: { port: 0 },
      callers: allowedCallerIds(TD, "ratelimit", ["eu"]),
      server: { host: "127.0.0.1", port: 0, auth: { operators }, tls: tlsFiles("ratelimit", svids["ratelimit"]!, `${ca.bundle}\n${federated.bundle}\n`) },
    },
    { processMetrics: false },
  );
  grandmaster = await startService(
    grandmasterService,
    { ntp: { port: 0 }, server: { host: "127.0.0.1", port: 0, auth: { operators }, tls: tlsFiles("grandmaster", svids["grandmaster"]!, ca.bundle) } },
    { processMetrics: false },
  );
});
afterAll(async () => {
  await ratelimit?.close();
  await grandmaster?.close();
});

interface Call {
  to: RunningService;
  /** The server's SPIFFE ID the client insists on (the hostname check's replacement). */
  expect: string;
  as?: Svid;
  method?: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

function call(c: Call): Promise<{ status: number; body: string }> {
  const tls = mtlsClientOptions(c.as ?? svids["escrow"]!, ca.bundle, allowIds([c.expect]));
  const credentials = c.as ? {} : { cert: undefined, key: undefined };
  const payload = c.body === undefined ? undefined : JSON.stringify(c.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        ...tls,
        ...credentials,
        host: "127.0.0.1",
        port: c.to.port,
        method: c.method ?? "GET",
        path: c.path,
        agent: false,
        headers: { ...(payload ? { "content-type": "application/json" } : {}), ...c.headers },
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const decide = (as: Svid | undefined, headers?: Record<string, string>) =>
  call({ to: ratelimit, expect: RATELIMIT, as, method: "POST", path: "/v1/ratelimit", body: { domain: "api", descriptors: [{ entries: [{ key: "api_key", value: "k1" }] }] }, headers });

describe("SVID authorization between two running services", () => {
  it("both serve mTLS with their own SVIDs, and each client accepts only the server ID it expects", async () => {
    expect([ratelimit.url, grandmaster.url].every((u) => u.startsWith("https://"))).toBe(true);
    expect((await call({ to: grandmaster, expect: GRANDMASTER_ID, as: svids["ratelimit"], path: "/status" })).status).toBe(200);
    expect((await call({ to: ratelimit, expect: RATELIMIT, as: svids["grandmaster"], path: "/v1/ratelimit/domains" })).status).toBe(200);
    // ratelimit presenting its SVID where the caller expects the grandmaster: the client refuses the handshake.
    await expect(call({ to: ratelimit, expect: GRANDMASTER_ID, as: svids["grandmaster"], path: "/v1/ratelimit/domains" })).rejects.toThrow(/not an expected peer/);
  });

  it("a catalogued caller's SVID reaches the route; the other service's SVID is refused on the same route", async () => {
    const ok = await decide(svids["escrow"]);
    expect(ok.status, ok.body).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ overall_code: "OK" });
    expect((await decide(svids["ratelimit"])).status).toBe(200);
    const refused = await decide(svids["grandmaster"]);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain(GRANDMASTER_ID);
    expect((await decide(undefined)).status).toBe(401);
  });

  it("admin and drill routes answer the operator's SVID only", async () => {
    const drill = (as: Svid) => call({ to: grandmaster, expect: GRANDMASTER_ID, as, method: "POST", path: "/drills/inflate", body: { epsilonMs: 5, durationSeconds: 1 } });
    expect((await drill(svids["ratelimit"]!)).status).toBe(403);
    expect((await drill(svids["escrow"]!)).status).toBe(403);
    expect((await drill(svids["operator"]!)).status).toBe(200);
    const blocks = (as: Svid) => call({ to: ratelimit, expect: RATELIMIT, as, path: "/v1/ratelimit/admin/blocks" });
    expect((await blocks(svids["escrow"]!)).status).toBe(403);
    expect((await blocks(svids["grandmaster"]!)).status).toBe(403);
    expect((await blocks(svids["operator"]!)).status).toBe(200);
  });

  it("refuses forged identities: a rogue CA's SVID with the allowed URI SAN, another trust domain, an expired SVID", async () => {
    expect(svids["rogue"]!.id.uri).toBe(ESCROW);
    expect((await decide(svids["rogue"])).status).toBe(401);
    // Chain-verified through the federated bundle, but the ID is partner.test's escrow, not ours.
    const partner = await decide(svids["partner"]);
    expect(partner.status).toBe(403);
    expect(partner.body).toContain("spiffe://partner.test/");
    expect(svids["expired"]!.notAfter.getTime()).toBeLessThan(Date.now());
    expect((await decide(svids["expired"])).status).toBe(401);
    const rogueOperator = await rogue.issueSvid(OPERATOR);
    expect((await call({ to: grandmaster, expect: GRANDMASTER_ID, as: rogueOperator, method: "POST", path: "/drills/inflate", body: { epsilonMs: 5, durationSeconds: 1 } })).status).toBe(401);
  });

  it("headers claiming an identity count for nothing, with or without a certificate", async () => {
    const claims = { "x-spiffe-id": ESCROW, "x-forwarded-client-cert": `By=${RATELIMIT};URI=${ESCROW}`, "x-client-cert-uri": OPERATOR };
    expect((await decide(undefined, claims)).status).toBe(401);
    expect((await decide(svids["grandmaster"], claims)).status).toBe(403);
    expect(
      (
        await call({
          to: grandmaster,
          expect: GRANDMASTER_ID,
          as: svids["ratelimit"],
          method: "POST",
          path: "/drills/inflate",
          body: { epsilonMs: 5, durationSeconds: 1 },
          headers: { "x-spiffe-id": OPERATOR },
        })
      ).status,
    ).toBe(403);
  });
});
