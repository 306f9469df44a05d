import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ManualClock } from "../../../runtime/common/clock.js";
import { createLocalTrustDomain } from "../../../runtime/identity/local-ca.js";
import { SpiffeIdError, parseSpiffeId, workloadId } from "../../../runtime/identity/spiffe-id.js";
import { svidSpiffeId } from "../../../runtime/identity/svid.js";
import { X509Certificate } from "node:crypto";

describe("SPIFFE IDs", () => {
  it("parses the Kubernetes workload form", () => {
    expect(workloadId("prod.meridian.internal", "meridian", "escrow")).toEqual({
      trustDomain: "prod.meridian.internal",
      path: "/ns/meridian/sa/escrow",
      uri: "spiffe://prod.meridian.internal/ns/meridian/sa/escrow",
    });
    expect(parseSpiffeId("spiffe://td").path).toBe("");
  });

  it.each([
    ["https://td/ns/a", /scheme/],
    ["spiffe:///ns/a", /trust domain/],
    ["spiffe://TD/ns/a", /trust domain may contain/],
    ["spiffe://td:443/ns/a", /trust domain may contain/],
    ["spiffe://user@td/ns/a", /trust domain may contain/],
    ["spiffe://td/ns//a", /must not be empty/],
    ["spiffe://td/ns/a/", /must not be empty/],
    ["spiffe://td/ns/../a", /'\.' or '\.\.'/],
    ["spiffe://td/ns/a?x=1", /path segment/],
    ["spiffe://td/ns/a#f", /path segment/],
  ])("rejects %s", (text, why) => {
    expect(() => parseSpiffeId(text)).toThrow(SpiffeIdError);
    expect(() => parseSpiffeId(text)).toThrow(why);
  });

  it("round-trips every well-formed ID (property)", () => {
    const td = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/);
    const seg = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,10}$/).filter((s) => s !== "." && s !== "..");
    fc.assert(
      fc.property(td, fc.array(seg, { maxLength: 5 }), (domain, segments) => {
        const uri = `spiffe://${domain}${segments.map((s) => `/${s}`).join("")}`;
        const id = parseSpiffeId(uri);
        expect(id.uri).toBe(uri);
        expect(parseSpiffeId(id.uri)).toEqual(id);
      }),
      { numRuns: 200 },
    );
  });
});

describe("X.509-SVIDs from the local trust domain", () => {
  it("carry exactly the SPIFFE ID as URI SAN, are leaves, and chain to the bundle", async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 24));
    const domain = await createLocalTrustDomain("local.meridian.internal", clock);
    const svid = await domain.issueSvid("spiffe://local.meridian.internal/ns/meridian/sa/escrow", { ttlSeconds: 3600, dnsNames: ["escrow.meridian.svc.cluster.local"] });
    const cert = new X509Certificate(svid.cert);
    expect(svidSpiffeId(new Uint8Array(cert.raw)).uri).toBe("spiffe://local.meridian.internal/ns/meridian/sa/escrow");
    expect(cert.ca).toBe(false);
    expect(cert.verify(new X509Certificate(domain.bundle).publicKey)).toBe(true);
    expect(new Date(cert.validTo).getTime()).toBe(Date.UTC(2026, 10, 24, 1));
    expect(svid.notAfter.getTime()).toBe(Date.UTC(2026, 10, 24, 1));
  });

  it("refuses to read a CA certificate or mint outside its trust domain", async () => {
    const domain = await createLocalTrustDomain("local.meridian.internal", new ManualClock(Date.now()));
    expect(() => svidSpiffeId(new Uint8Array(new X509Certificate(domain.bundle).raw))).toThrow(/CA, not a leaf/);
    await expect(domain.issueSvid("spiffe://elsewhere/ns/a/sa/b")).rejects.toThrow(/not in trust domain/);
    await expect(domain.issueSvid("spiffe://local.meridian.internal")).rejects.toThrow(/needs a path/);
  });
});
