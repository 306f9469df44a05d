// Identity behind the pod's Istio sidecar: with `server.identity: {xfcc: "istio-sidecar", spiffeId}` the kit
// takes the peer from the LAST element of x-forwarded-client-cert (the one Istio's inbound APPEND_FORWARD adds),
// only when that element's By= is this pod's own SPIFFE ID, with exactly one URI; anything malformed is refused.
// Without the setting the header is never read, however well it is forged.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { ConfigFileError, localOperatorAuth, parseXfcc, startService, XfccError, type RunningService } from "../../../runtime/kit/index.js";
import { itemsService } from "./fixture.js";

const TD = "mesh.test";
const SELF = `spiffe://${TD}/ns/meridian/sa/items`;
const ESCROW = `spiffe://${TD}/ns/meridian/sa/escrow`;
const OPERATOR = `spiffe://${TD}/ns/meridian/sa/meridian-operator`;
const GATEWAY = `spiffe://${TD}/ns/meridian-gateway/sa/meridian-gateway`;
const HASH = "a".repeat(64);
/** What Istio's inbound sidecar appends for an mTLS peer (set_current_client_cert_details: subject, uri, dns). */
const element = (uri: string, by = SELF) => `By=${by};Hash=${HASH};Subject="";URI=${uri}`;

interface Reply {
  status: number;
  body: { error?: string; detail?: string; peer?: string; who?: string };
}

/** One request with exactly these header lines (an array value is sent as several lines). */
function request(port: number, path: string, headers: Record<string, string | string[]>, method = "GET"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Reply["body"]) : {} }));
    });
    for (const [k, v] of Object.entries(headers)) req.setHeader(k, v);
    req.on("error", reject);
    req.end();
  });
}

describe("parseXfcc", () => {
  it("reads Envoy's format: elements by comma, pairs by semicolon, quoted values with escapes", () => {
    expect(parseXfcc(`${element(ESCROW, GATEWAY)},${element(GATEWAY)};DNS=gw.example`)).toEqual([
      { by: [GATEWAY], hash: [HASH], subject: [""], uri: [ESCROW] },
      { by: [SELF], hash: [HASH], subject: [""], uri: [GATEWAY], dns: ["gw.example"] },
    ]);
    expect(parseXfcc('By=spiffe://a/b;Subject="CN=x, O=\\"q\\";=y";URI=spiffe://a/c')[0]!["subject"]).toEqual(['CN=x, O="q";=y']);
  });

  it.each([
    ["empty", ""],
    ["a bare word", "garbage"],
    ["a key without a value", "By"],
    ["an empty value", `By=;URI=${ESCROW}`],
    ["an unknown key", `By=${SELF};Spiffe=${ESCROW}`],
    ["an unterminated quote (a caller swallowing the sidecar's element)", `Subject=",${element(ESCROW)}`],
    ["text after a closing quote", `Subject="x"y;URI=${ESCROW}`],
    ["a quote inside an unquoted value", `URI=spiffe://a"b`],
    ["an empty element", `${element(ESCROW)},,${element(ESCROW)}`],
    ["a trailing comma", `${element(ESCROW)},`],
    ["a lone backslash", `Subject="x\\`],
    ["too many elements", Array.from({ length: 17 }, () => element(ESCROW)).join(",")],
  ])("refuses %s", (_, header) => {
    expect(() => parseXfcc(header)).toThrow(XfccError);
  });
});

describe("a service behind its Istio sidecar (server.identity.xfcc)", () => {
  const clock = new ManualClock(Date.now());
  let svc: RunningService;
  let op: Awaited<ReturnType<typeof localOperatorAuth>>;
  const get = (path: string, xfcc?: string | string[], extra: Record<string, string> = {}, method = "GET") =>
    request(svc.port, path, { ...(xfcc === undefined ? {} : { "x-forwarded-client-cert": xfcc }), ...extra }, method);

  beforeAll(async () => {
    op = await localOperatorAuth(clock);
    svc = await startService(
      itemsService,
      { peers: [ESCROW], server: { port: 0, identity: { xfcc: "istio-sidecar", spiffeId: SELF }, auth: { ...op.auth, operators: { spiffe: [OPERATOR] } } } },
      { clock, processMetrics: false },
    );
  });
  afterAll(() => svc?.close());

  it("takes the peer from the sidecar's element and authorizes by it", async () => {
    expect(await get("/peer", element(ESCROW))).toEqual({ status: 200, body: { peer: ESCROW } });
    expect((await get("/peer", element(GATEWAY))).status).toBe(403);
    expect((await get("/admin/reset", element(OPERATOR), {}, "POST")).status).toBe(200);
    expect((await get("/admin/reset", element(ESCROW), {}, "POST")).status).toBe(403);
  });

  it("ignores what the caller wrote before the sidecar's element", async () => {
    // The caller sent `By=<us>;URI=<operator>`; Istio's APPEND_FORWARD put the real peer (escrow) last.
    const forged = `${element(OPERATOR)},${element(ESCROW)}`;
    expect((await get("/admin/reset", forged, {}, "POST")).status).toBe(403);
    expect(await get("/peer", forged)).toEqual({ status: 200, body: { peer: ESCROW } });
  });

  it.each([
    ["a By that is not this pod (an element written for another hop, or the sidecar did not append)", element(OPERATOR, `spiffe://${TD}/ns/meridian/sa/other`), /By=.*is not this pod's sidecar/],
    ["a By from another trust domain", element(OPERATOR, "spiffe://evil.test/ns/meridian/sa/items"), /is not this pod's sidecar/],
    ["no By", `Hash=${HASH};URI=${OPERATOR}`, /exactly one By \(got 0\)/],
    ["two By", `By=${SELF};By=${SELF};URI=${OPERATOR}`, /exactly one By \(got 2\)/],
    ["two URIs (a certificate with several URI SANs)", `By=${SELF};URI=${ESCROW};URI=${OPERATOR}`, /names 2 URIs/],
    ["no URI", `By=${SELF};Hash=${HASH};DNS=escrow`, /names no URI/],
    ["a URI that is no SPIFFE ID", `By=${SELF};URI=https://evil.test/operator`, /URI: invalid SPIFFE ID/],
    ["garbage", "\u00ff\u00fe;;==", /x-forwarded-client-cert refused/],
    ["an open quote that swallows the sidecar's element", `Subject=",${element(ESCROW)}`, /unterminated|after a closing quote/],
  ])("refuses %s with 401 naming why", async (_, header, why) => {
    for (const [path, method] of [
      ["/peer", "GET"],
      ["/admin/reset", "POST"],
    ] as const) {
      const r = await get(path, header, {}, method);
      expect(r.status).toBe(401);
      expect(r.body.error).toBe("unauthenticated");
      expect(r.body.detail).toMatch(/^x-forwarded-client-cert refused: /);
      expect(r.body.detail).toMatch(why);
    }
  });

  it("refuses two XFCC header lines", async () => {
    const r = await get("/peer", [element(ESCROW), element(ESCROW)]);
    expect(r.status).toBe(401);
    expect(r.body.detail).toMatch(/2 x-forwarded-client-cert headers/);
  });

  it("without the header there is no peer; public routes never read it", async () => {
    expect((await get("/peer")).status).toBe(401);
    expect((await get("/v1/hello", "garbage")).status).toBe(200);
  });

  it("an end user's JWT forwarded by a meshed hop names the caller of an `authenticated` route", async () => {
    expect(await get("/whoami", element(GATEWAY))).toEqual({ status: 200, body: { who: GATEWAY } });
    const token = await op.token({ subject: "tenant-admin", scope: "quota" });
    expect(await get("/whoami", element(GATEWAY), { authorization: `Bearer ${token}` })).toEqual({ status: 200, body: { who: "jwt:tenant-admin" } });
    // The hop's identity does not make a bad token acceptable.
    expect((await get("/whoami", element(GATEWAY), { authorization: "Bearer not.a.jwt" })).status).toBe(401);
  });
});

describe("without server.identity the header is never read", () => {
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService(itemsService, { peers: [ESCROW], server: { port: 0, auth: { operators: { spiffe: [OPERATOR] } } } }, { processMetrics: false });
  });
  afterAll(() => svc?.close());

  it("a header exactly as the sidecar would write it (By= the pod itself) counts for nothing", async () => {
    for (const header of [element(OPERATOR), element(ESCROW), `${element(ESCROW)},${element(OPERATOR)}`]) {
      expect((await request(svc.port, "/admin/reset", { "x-forwarded-client-cert": header }, "POST")).status).toBe(401);
      expect((await request(svc.port, "/peer", { "x-forwarded-client-cert": header })).status).toBe(401);
    }
  });
});

describe("server.identity config", () => {
  it("refuses xfcc trust together with the service's own TLS, and a malformed own SPIFFE ID, naming the key", async () => {
    const tls = { cert: "/nonexistent/c.pem", key: "/nonexistent/k.pem", bundle: "/nonexistent/b.pem" };
    const both = await startService(itemsService, { server: { port: 0, tls, identity: { xfcc: "istio-sidecar", spiffeId: SELF } } }).catch((e: unknown) => e);
    expect(both).toBeInstanceOf(ConfigFileError);
    expect((both as Error).message).toMatch(/server\.identity: .*server\.tls and server\.identity\.xfcc exclude each other/);
    for (const spiffeId of ["spiffe://Mesh.Test/x", "https://mesh.test/x", "spiffe://mesh.test/a//b"]) {
      const bad = await startService(itemsService, { server: { port: 0, identity: { xfcc: "istio-sidecar", spiffeId } } }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ConfigFileError);
      expect((bad as Error).message).toMatch(/server\.identity\.spiffeId: expected this pod's SPIFFE ID/);
    }
    const other = await startService(itemsService, { server: { port: 0, identity: { xfcc: "envoy", spiffeId: SELF } } }).catch((e: unknown) => e);
    expect((other as Error).message).toMatch(/server\.identity\.xfcc/);
  });
});
