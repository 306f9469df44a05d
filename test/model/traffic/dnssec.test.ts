import { describe, expect, it } from "vitest";
import { DNSSEC, dnssecProblems, dsRdata } from "../../../model/traffic/dnssec.js";

const where = (p: string) => `${p} (slot)`;
const signing = { dnssec: { signing: true, keySigningKeys: [1] } };

describe("DNSSEC across a hierarchy", () => {
  it("a single signing provider may sign; unsigned hierarchies are never refused", () => {
    for (const p of ["route53", "clouddns", "trafficmanager", "cloudflare"] as const) expect(dnssecProblems([p], signing, where)).toEqual([]);
    expect(dnssecProblems(["route53", "clouddns"], { dnssec: { signing: false, keySigningKeys: [1] } }, where)).toEqual([]);
  });

  it("a provider that cannot sign makes the signed hierarchy refused, named", () => {
    expect(dnssecProblems(["local"], signing, where)[0]!.message).toMatch(/^DNSSEC: local \(slot\) cannot sign the zone/);
  });

  it("several signers need every one to import the others' DNSKEYs: only the ones that cannot are named", () => {
    const [p] = dnssecProblems(["cloudflare", "route53"], signing, where);
    expect(p!.path).toEqual(["dnssec", "signing"]);
    expect(p!.message).toContain("DNSSEC with multiple signing providers (cloudflare, route53) needs RFC 8901 multi-signer");
    expect(p!.message).toContain("but route53 (slot) cannot import another signer's DNSKEY");
    expect(
      Object.entries(DNSSEC)
        .filter(([, c]) => c.multiSigner)
        .map(([p]) => p),
    ).toEqual(["cloudflare"]);
  });

  it("DS records read from each provider's shape", () => {
    const digest = "e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766";
    expect(dsRdata(`2371 13 2 ${digest}`)).toBe(`2371 13 2 ${digest.toUpperCase()}`);
    expect(dsRdata(`example.com. 3600 IN DS 2371 13 2 ${digest}`)).toBe(`2371 13 2 ${digest.toUpperCase()}`);
    expect(() => dsRdata("2371 13 2")).toThrow(/not a DS record/);
    expect(() => dsRdata("tag 13 2 abc")).toThrow(/not a DS record/);
  });
});
