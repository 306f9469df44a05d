// The cross-cloud VPN model: which region pairs the replication topology needs a private path between, and
// each tunnel's addresses — checked against the clouds' documented constraints (AWS's tunnel inside CIDRs,
// Azure's APIPA range and reserved ASNs), for the shipped stacks and for any topology fast-check makes up.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { AWS_RESERVED_INSIDE_CIDRS, AZURE_APIPA, crossCloudLinks, ipToInt, vpnPlan, vpnProblems } from "../../../model/network/vpn.js";
import { feeders } from "../../../model/cost/topology.js";
import { replicationInput } from "../../../model/cost/report.js";
import { StackConfigError } from "../../../model/config/errors.js";
import { loadStack, parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

const prod = buildEstateSpec("prod", loadStack("prod"));
const inRange = (cidr: string, lo: number, hi: number) => {
  const net = ipToInt(cidr.split("/")[0]!);
  return net >= lo && net + 3 <= hi;
};

describe("which pairs need a VPN", () => {
  it("exactly the region pairs where one feeds the other across clouds, each carrying the writers that flow over it", () => {
    const expected = new Map<string, Set<string>>();
    for (const [writer, holders] of feeders(replicationInput(prod), prod.replication.topology))
      for (const [to, from] of holders) {
        if (from === null) continue;
        const [x, y] = [prod.regions.find((r) => r.id === from)!, prod.regions.find((r) => r.id === to)!];
        if (x.cloud === y.cloud) continue;
        const key = [x.id, y.id].sort().join(" ");
        expected.set(key, (expected.get(key) ?? new Set()).add(writer));
      }
    const links = crossCloudLinks(prod);
    expect(new Map(links.map((l) => [[l.a.id, l.b.id].sort().join(" "), new Set(l.carries)]))).toEqual(expected);
    expect(links.length).toBeGreaterThan(0);
    // The first cloud of a pair is the one earlier in aws < gcp < azure (it holds the /30's first address).
    for (const l of links) expect(["aws-gcp", "aws-azure", "gcp-azure"]).toContain(`${l.a.cloud}-${l.b.cloud}`);
  });

  it("local has no cloud boundary to cross: no VPNs", () => {
    expect(vpnPlan(buildEstateSpec("local", loadStack("local"))).pairs).toEqual([]);
  });
});

describe("tunnel addresses", () => {
  const plan = vpnPlan(prod);

  it("each pair has its documented HA layout: AWS pairs four tunnels over two connections, GCP↔Azure two", () => {
    for (const p of plan.pairs) {
      if (p.kind === "gcp-azure") {
        expect(p.tunnels.map((t) => [t.gcpInterface, t.azureInstance])).toEqual([
          [0, 0],
          [1, 1],
        ]);
      } else {
        expect(p.tunnels.map((t) => [t.aws!.connection, t.aws!.tunnel])).toEqual([
          [0, 1],
          [0, 2],
          [1, 1],
          [1, 2],
        ]);
        // One customer gateway (peer address) per connection: its two tunnels land on the same peer interface.
        for (const t of p.tunnels) expect(p.kind === "aws-gcp" ? t.gcpInterface : t.azureInstance).toBe(t.aws!.connection);
      }
    }
  });

  it("every inside range is a unique /30 AWS accepts, with the two BGP addresses its first and second hosts", () => {
    const all = plan.pairs.flatMap((p) => p.tunnels.map((t) => ({ p, t })));
    expect(new Set(all.map(({ t }) => t.insideCidr)).size).toBe(all.length);
    for (const { p, t } of all) {
      expect(t.insideCidr).toMatch(/^169\.254\.\d+\.\d+\/30$/);
      expect(AWS_RESERVED_INSIDE_CIDRS).not.toContain(t.insideCidr);
      const net = ipToInt(t.insideCidr.split("/")[0]!);
      expect(net % 4).toBe(0);
      expect([ipToInt(t.aAddress), ipToInt(t.bAddress)]).toEqual([net + 1, net + 2]);
      if (p.b.cloud === "azure") expect(inRange(t.insideCidr, AZURE_APIPA.first, AZURE_APIPA.last), `${p.id} ${t.insideCidr}`).toBe(true);
    }
  });

  it("stays within the documented ranges for any number of regions and any writers (property)", () => {
    const clouds = ["aws", "gcp", "azure"] as const;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...clouds), { minLength: 2, maxLength: 8 }), fc.nat(), (cloudsOf, w) => {
        const regions = cloudsOf.map((cloud, i) => ({ ...prod.regions[0]!, id: `r${i}-${cloud}`, cloud, continent: prod.regions[i % prod.regions.length]!.continent }));
        const writer = regions[w % regions.length]!.id;
        const spec = { ...prod, regions, replication: { ...prod.replication, topology: "star" as const, writers: [writer], writeGBPerMonth: { [writer]: 10 }, relays: {} } };
        const p = vpnPlan(spec);
        const cidrs = p.pairs.flatMap((x) => x.tunnels.map((t) => t.insideCidr));
        expect(new Set(cidrs).size).toBe(cidrs.length);
        for (const x of p.pairs) {
          expect(x.a.cloud).not.toBe(x.b.cloud);
          for (const t of x.tunnels) if (x.b.cloud === "azure") expect(inRange(t.insideCidr, AZURE_APIPA.first, AZURE_APIPA.last)).toBe(true);
        }
        // A star from the writer: every region on another cloud is paired with it, and nothing else is.
        const hub = regions.find((r) => r.id === writer)!;
        expect(p.pairs.length).toBe(regions.filter((r) => r.cloud !== hub.cloud).length);
      }),
      { numRuns: 60 },
    );
  });
});

describe("what the stack must say (load-time problems)", () => {
  it("the shipped stacks load (prod, staging, dev, local)", () => {
    for (const s of ["prod", "staging", "dev", "local"]) expect(() => loadStack(s)).not.toThrow();
  });

  const base = prod.replication.network.vpn;
  const withVpn = (vpn: object, spec: EstateSpec = prod): EstateSpec => ({ ...spec, replication: { ...spec.replication, network: { ...spec.replication.network, vpn: { ...base, ...vpn } } } });

  it("an AWS region on a VPN without its VPC is refused, naming the region and its peers", () => {
    const problems = vpnProblems(withVpn({ aws: {} }));
    expect(problems.map((p) => p.keyPath)).toEqual(["meridian:replication.network.vpn.aws.aws-euw1", "meridian:replication.network.vpn.aws.aws-use1"]);
    expect(problems[1]!.expected).toContain("gcp-asne1, gcp-usc1");
  });

  it("equal ASNs and an Azure-reserved ASN for a peer of Azure are refused", () => {
    expect(vpnProblems(withVpn({ asn: { aws: 64512, gcp: 64512, azure: 65515 } })).map((p) => p.keyPath)).toContain("meridian:replication.network.vpn.asn");
    expect(vpnProblems(withVpn({ asn: { aws: 65517, gcp: 64514, azure: 65515 } }))).toContainEqual(expect.objectContaining({ keyPath: "meridian:replication.network.vpn.asn.aws", value: "65517" }));
    expect(vpnProblems(withVpn({}))).toEqual([]);
  });

  it("more site-to-site tunnels on one Azure gateway than its SKU carries are refused (8 AWS regions × 4 > 30)", () => {
    const azure = prod.regions.find((r) => r.cloud === "azure")!;
    const aws = Array.from({ length: 8 }, (_, i) => ({ ...prod.regions[0]!, id: `aws-${i}`, cloud: "aws" as const }));
    const star = { ...prod, regions: [azure, ...aws], replication: { ...prod.replication, topology: "star" as const, writers: [azure.id], writeGBPerMonth: { [azure.id]: 1 }, relays: {} } };
    const vpcs = Object.fromEntries(aws.map((r) => [r.id, { vpcId: "vpc-0123456789abcdef0", routeTableIds: ["rtb-0123456789abcdef0"] }]));
    expect(vpnProblems(withVpn({ aws: vpcs }, star))).toEqual([
      expect.objectContaining({ keyPath: "meridian:replication.network.vpn.azure.sku", value: "VpnGw1AZ", expected: expect.stringContaining("32") }),
    ]);
    expect(vpnProblems(withVpn({ aws: vpcs, azure: { ...base.azure, sku: "VpnGw4AZ" } }, star))).toEqual([]);
  });

  it("the loader reports a missing VPC as a config problem of the stack file", () => {
    const config = readStackConfigMap("prod");
    const replication = config["meridian:replication"] as { network: { vpn: { aws: Record<string, unknown> } } };
    const broken = { ...replication, network: { ...replication.network, vpn: { ...replication.network.vpn, aws: { "aws-use1": replication.network.vpn.aws["aws-use1"] } } } };
    expect(() => parseEstateConfig({ ...config, "meridian:replication": broken }, "Pulumi.prod.yaml")).toThrow(StackConfigError);
    expect(() => parseEstateConfig({ ...config, "meridian:replication": broken }, "Pulumi.prod.yaml")).toThrow(/vpn\.aws\.aws-euw1.*aws-euw1 replicates with/s);
  });
});
