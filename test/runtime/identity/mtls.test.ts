import { afterAll, beforeAll, describe, expect, it } from "vitest";
import https from "node:https";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import fastify, { type FastifyInstance } from "fastify";
import { ManualClock } from "../../../runtime/common/clock.js";
import { createLocalTrustDomain, type LocalTrustDomain, type Svid } from "../../../runtime/identity/local-ca.js";
import { allowIds, allowTrustDomain, enforcePeerIds, mtlsClientOptions, mtlsServerOptions, peerSpiffeId, reloadSvid, requestPeerId, type PeerRejection } from "../../../runtime/identity/index.js";
import { X509Certificate } from "node:crypto";
import { allowedCallerIds, regionIdentity, runtimeService, spiffeId, GATEWAY_IDENTITY } from "../../../model/services.js";

const TD = "test.meridian.internal";
// The rate limiter by one region's identity (it has one per region).
const idOf = (name: "escrow" | "ratelimit" | "prooflog" | "clock") => spiffeId(TD, regionIdentity(runtimeService(name), "eu"));

interface Reply {
  status: number;
  body: string;
}

function get(port: number, client: tls.ConnectionOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ ...client, host: "127.0.0.1", port, path: "/whoami", method: "GET", agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("runtime identity: mTLS with X.509-SVIDs over real TLS", () => {
  const clock = new ManualClock(Date.now());
  let domain: LocalTrustDomain;
  let foreign: LocalTrustDomain;
  const svids: Record<string, Svid> = {};
  let prooflog: FastifyInstance;
  let clockServer: https.Server;
  let prooflogPort = 0;
  let clockPort = 0;
  const rejections: PeerRejection[] = [];

  beforeAll(async () => {
    domain = await createLocalTrustDomain(TD, clock);
    foreign = await createLocalTrustDomain("other.example", clock);
    for (const name of ["escrow", "prooflog", "clock", "ratelimit"] as const) svids[name] = await domain.issueSvid(idOf(name));
    svids["gateway"] = await domain.issueSvid(spiffeId(TD, GATEWAY_IDENTITY));
    // Same path as escrow, but signed by another trust domain's CA.
    svids["impostor"] = await (await createLocalTrustDomain(TD, clock)).issueSvid(idOf("escrow"));

    // Endpoint 1: prooflog on fastify, allow-list from the service catalogue (gateway, escrow).
    prooflog = fastify({ https: mtlsServerOptions(svids["prooflog"]!, domain.bundle) });
    enforcePeerIds(prooflog.server as unknown as tls.Server, allowIds(allowedCallerIds(TD, "prooflog")), (r) => rejections.push(r));
    prooflog.get("/whoami", async (request) => ({ peer: requestPeerId(request.raw)?.uri }));
    await prooflog.listen({ host: "127.0.0.1", port: 0 });
    prooflogPort = (prooflog.server.address() as AddressInfo).port;

    // Endpoint 2: clock on node:https, callers escrow, ratelimit, prooflog, clock.
    clockServer = https.createServer(mtlsServerOptions(svids["clock"]!, domain.bundle), (req, res) => {
      res.end(JSON.stringify({ peer: peerSpiffeId(req.socket as tls.TLSSocket)?.uri }));
    });
    enforcePeerIds(clockServer, allowIds(allowedCallerIds(TD, "clock", ["eu"])), (r) => rejections.push(r));
    await new Promise<void>((resolve) => clockServer.listen(0, "127.0.0.1", resolve));
    clockPort = (clockServer.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await prooflog?.close();
    await new Promise((resolve) => clockServer?.close(resolve));
  });

  const as = (who: string, expect: string) => mtlsClientOptions(svids[who]!, domain.bundle, allowIds([expect]));

  it("an allowed SPIFFE ID gets through, and the server sees who it is", async () => {
    const r = await get(prooflogPort, as("escrow", idOf("prooflog")));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ peer: `spiffe://${TD}/ns/meridian/sa/escrow` });
    const viaGateway = await get(prooflogPort, as("gateway", idOf("prooflog")));
    expect(JSON.parse(viaGateway.body)).toEqual({ peer: `spiffe://${TD}/ns/meridian-gateway/sa/meridian-gateway` });
    const toClock = await get(clockPort, as("prooflog", idOf("clock")));
    expect(JSON.parse(toClock.body)).toEqual({ peer: idOf("prooflog") });
  });

  it("another identity of the same trust domain is refused", async () => {
    rejections.length = 0;
    await expect(get(prooflogPort, as("clock", idOf("prooflog")))).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE|disconnected/);
    // The gateway may call prooflog but not the clock.
    await expect(get(clockPort, as("gateway", idOf("clock")))).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE|disconnected/);
    expect(rejections).toEqual([
      { reason: "SPIFFE ID not allowed", peer: idOf("clock") },
      { reason: "SPIFFE ID not allowed", peer: spiffeId(TD, GATEWAY_IDENTITY) },
    ]);
  });

  it("a plain-TLS client (no client certificate) is refused", async () => {
    for (const port of [prooflogPort, clockPort]) {
      await expect(get(port, { ca: domain.bundle, checkServerIdentity: () => undefined })).rejects.toThrow(/certificate required|socket hang up|ECONNRESET|alert/i);
    }
  });

  it("an SVID with an allowed path from another CA is refused at the handshake", async () => {
    await expect(get(prooflogPort, as("impostor", idOf("prooflog")))).rejects.toThrow(/unknown ca|socket hang up|ECONNRESET|alert/i);
    const foreignSvid = await foreign.issueSvid("spiffe://other.example/ns/meridian/sa/escrow");
    await expect(get(prooflogPort, mtlsClientOptions(foreignSvid, domain.bundle, allowIds([idOf("prooflog")])))).rejects.toThrow();
  });

  it("an expired SVID is refused", async () => {
    const past = new ManualClock(Date.now() - 3 * 3600_000);
    const old = await createLocalTrustDomain(TD, past, 10 * 3600);
    const expired = await old.issueSvid(idOf("escrow"), { ttlSeconds: 600 });
    const server = https.createServer(mtlsServerOptions(svids["prooflog"]!, [domain.bundle, old.bundle]), (_q, s) => s.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      await expect(get(port, mtlsClientOptions(expired, domain.bundle, allowIds([idOf("prooflog")])))).rejects.toThrow();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("the client refuses a server presenting an unexpected SPIFFE ID", async () => {
    // escrow expects the clock but dials prooflog's port: the chain verifies, the ID does not.
    await expect(get(prooflogPort, as("escrow", idOf("clock")))).rejects.toThrow(/is not an expected peer/);
  });

  it("a rotated server SVID is served to new connections without restarting the listener", async () => {
    const serials: string[] = [];
    const server = https.createServer(mtlsServerOptions(svids["clock"]!, domain.bundle), (_q, s) => s.end("ok"));
    enforcePeerIds(server, allowTrustDomain(TD));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const handshake = () =>
      new Promise<void>((resolve, reject) => {
        const socket = tls.connect({ ...as("escrow", idOf("clock")), host: "127.0.0.1", port }, () => {
          serials.push(socket.getPeerX509Certificate()!.serialNumber);
          socket.end();
          resolve();
        });
        socket.on("error", reject);
      });
    try {
      await handshake();
      const rotated = await domain.issueSvid(idOf("clock"));
      reloadSvid(server, rotated, domain.bundle);
      await handshake();
      expect(serials[0]).toBe(new X509Certificate(svids["clock"]!.cert).serialNumber);
      expect(serials[1]).toBe(new X509Certificate(rotated.cert).serialNumber);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
