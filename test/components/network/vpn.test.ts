// The network area alone (prod): a site-to-site VPN for every region pair the replication topology links
// across clouds, wired end to end — both ends of each tunnel agree on its key, inside range, BGP addresses
// and ASNs, and reach the peer's outside address — and Cloud SQL's private range is reachable over it.
import { beforeAll, describe, expect, it } from "vitest";
import { isIPv4 } from "node:net";
import { evaluateStack, ofType, type Plan, type RecordedResource } from "../../harness.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { vpnPlan } from "../../../model/network/vpn.js";
import { loadStack } from "../../../stacks/load.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const model = vpnPlan(spec);
const p = (r: RecordedResource) => r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("cross-cloud VPNs (prod, network area only)", () => {
  let plan: Plan;
  const named = (type: string, name: string) => {
    const r = ofType(plan, type).find((x) => x.name === name);
    if (!r) throw new Error(`no ${type} ${name}`);
    return p(r);
  };
  beforeAll(async () => {
    plan = await evaluateStack("prod", { areas: ["network"] });
  }, 120_000);

  it("builds exactly the model's pairs, and outputs them", () => {
    // Subscribers fed from an AWS region whose copy is a global secondary dial that writer's primary instead
    // (aws-use1 ↔ azure-weu, aws-euw1 ↔ gcp-usc1), so those pairs have tunnels too.
    expect(model.pairs.map((x) => x.id).sort()).toEqual([
      "aws-euw1--azure-weu",
      "aws-euw1--gcp-asne1",
      "aws-euw1--gcp-usc1",
      "aws-use1--azure-weu",
      "aws-use1--gcp-asne1",
      "aws-use1--gcp-usc1",
      "gcp-asne1--azure-sea",
    ]);
    expect((plan.outputs as { network: { vpns: { pair: string }[] } }).network.vpns.map((v) => v.pair)).toEqual(model.pairs.map((x) => x.id));
    expect(ofType(plan, "aws:ec2/vpnConnection:VpnConnection")).toHaveLength(2 * model.pairs.filter((x) => x.a.cloud === "aws").length);
    expect(ofType(plan, "gcp:compute/vPNTunnel:VPNTunnel")).toHaveLength(model.pairs.filter((x) => x.kind !== "aws-azure").reduce((n, x) => n + x.tunnels.length, 0));
    expect(ofType(plan, "azure-native:network:VirtualNetworkGatewayConnection")).toHaveLength(model.pairs.filter((x) => x.b.cloud === "azure").reduce((n, x) => n + x.tunnels.length, 0));
  });

  it("AWS ↔ GCP: each tunnel's two ends share a key, an inside /30, mirrored BGP addresses, each other's ASN and outside address", () => {
    for (const pair of model.pairs.filter((x) => x.kind === "aws-gcp")) {
      const external = named("gcp:compute/externalVpnGateway:ExternalVpnGateway", `${pair.id}-peer`);
      expect(external.redundancyType).toBe("FOUR_IPS_REDUNDANCY");
      for (const t of pair.tunnels) {
        const conn = named("aws:ec2/vpnConnection:VpnConnection", `${pair.id}-vpn-${t.aws!.connection}`);
        const cgw = named("aws:ec2/customerGateway:CustomerGateway", `${pair.id}-cgw-${t.aws!.connection}`);
        const tunnel = named("gcp:compute/vPNTunnel:VPNTunnel", `${pair.id}-t${t.index}`);
        const iface = named("gcp:compute/routerInterface:RouterInterface", `${pair.id}-t${t.index}`);
        const peer = named("gcp:compute/routerPeer:RouterPeer", `${pair.id}-t${t.index}`);
        expect(conn[`tunnel${t.aws!.tunnel}InsideCidr`]).toBe(t.insideCidr);
        expect(conn[`tunnel${t.aws!.tunnel}PresharedKey`]).toBe(tunnel.sharedSecret);
        expect(conn.staticRoutesOnly).toBe(false);
        expect(conn.region).toBe(pair.a.region);
        // AWS holds the /30's first host; GCP's interface the second and peers with the first.
        expect([iface.ipRange, peer.peerIpAddress]).toEqual([`${t.bAddress}/30`, t.aAddress]);
        expect([Number(cgw.bgpAsn), peer.peerAsn]).toEqual([spec.replication.network.vpn.asn.gcp, spec.replication.network.vpn.asn.aws]);
        // The customer gateway is the HA VPN interface this tunnel leaves from; the external gateway's interface is this AWS tunnel.
        expect(tunnel.vpnGatewayInterface).toBe(t.gcpInterface);
        expect(cgw.ipAddress).toMatch(new RegExp(`\\.${t.gcpInterface! + 1}$`));
        expect(tunnel.peerExternalGatewayInterface).toBe(t.index);
        expect(isIPv4(external.interfaces[t.index].ipAddress)).toBe(true);
      }
      expect(new Set(external.interfaces.map((i: { ipAddress: string }) => i.ipAddress)).size).toBe(4);
    }
  });

  it("to Azure: a local network gateway per tunnel naming the peer's BGP speaker, and connections using both instances' APIPA addresses", () => {
    for (const pair of model.pairs.filter((x) => x.b.cloud === "azure")) {
      const gateway = named("azure-native:network:VirtualNetworkGateway", `prod-vpn-${pair.b.id}`);
      expect(gateway).toMatchObject({ activeActive: true, enableBgp: true, sku: { name: "VpnGw1AZ" }, bgpSettings: { asn: spec.replication.network.vpn.asn.azure } });
      const onInstance = gateway.bgpSettings.bgpPeeringAddresses.map((b: { customBgpIpAddresses: string[] }) => b.customBgpIpAddresses);
      const peerAsn = pair.a.cloud === "aws" ? spec.replication.network.vpn.asn.aws : spec.replication.network.vpn.asn.gcp;
      const keys = new Set<string>();
      for (const t of pair.tunnels) {
        const local = named("azure-native:network:LocalNetworkGateway", `${pair.id}-t${t.index}`);
        const conn = named("azure-native:network:VirtualNetworkGatewayConnection", `${pair.id}-t${t.index}`);
        expect(local.bgpSettings).toEqual({ asn: peerAsn, bgpPeeringAddress: t.aAddress });
        expect(isIPv4(local.gatewayIpAddress)).toBe(true);
        expect(conn).toMatchObject({ connectionType: "IPsec", connectionProtocol: "IKEv2", enableBgp: true });
        // The instance this tunnel lands on answers on the tunnel's own address, which it lists.
        const mine = conn.gatewayCustomBgpIpAddresses[t.azureInstance!];
        expect(mine.customBgpIpAddress).toBe(t.bAddress);
        expect(onInstance[t.azureInstance!]).toContain(t.bAddress);
        for (const [i, c] of conn.gatewayCustomBgpIpAddresses.entries()) expect(onInstance[i]).toContain(c.customBgpIpAddress);
        keys.add(conn.sharedKey);
        if (pair.a.cloud === "aws") {
          const awsConn = named("aws:ec2/vpnConnection:VpnConnection", `${pair.id}-vpn-${t.aws!.connection}`);
          expect(awsConn[`tunnel${t.aws!.tunnel}PresharedKey`]).toBe(conn.sharedKey);
          expect(awsConn[`tunnel${t.aws!.tunnel}InsideCidr`]).toBe(t.insideCidr);
        } else {
          expect(named("gcp:compute/vPNTunnel:VPNTunnel", `${pair.id}-t${t.index}`).sharedSecret).toBe(conn.sharedKey);
          expect(named("gcp:compute/routerInterface:RouterInterface", `${pair.id}-t${t.index}`).ipRange).toBe(`${t.aAddress}/30`);
        }
      }
      expect(keys.size).toBe(pair.tunnels.length);
    }
  });

  it("routes reach the databases: AWS propagates into every configured route table; GCP advertises and exports the Cloud SQL range", () => {
    for (const [region, vpc] of Object.entries(spec.replication.network.vpn.aws)) {
      expect(named("aws:ec2/vpnGateway:VpnGateway", `prod-vpn-${region}`)).toMatchObject({ vpcId: vpc.vpcId, amazonSideAsn: String(spec.replication.network.vpn.asn.aws) });
      const tables = ofType(plan, "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation")
        .filter((r) => r.name.startsWith(`prod-vpn-${region}-`))
        .map((r) => p(r).routeTableId);
      expect(tables).toEqual(vpc.routeTableIds);
    }
    for (const router of ofType(plan, "gcp:compute/router:Router"))
      expect(p(router).bgp).toMatchObject({ asn: spec.replication.network.vpn.asn.gcp, advertiseMode: "CUSTOM", advertisedGroups: ["ALL_SUBNETS"], advertisedIpRanges: [{ range: "10.240.0.0/16" }] });
    expect(ofType(plan, "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig").map(p)).toEqual([
      { project: "meridian-prod", network: "meridian", peering: "servicenetworking-googleapis-com", importCustomRoutes: true, exportCustomRoutes: true },
    ]);
  });

  it("no pre-shared key is in the stack or repeated: each is a generated secret, valid for AWS", () => {
    const secrets = ofType(plan, "random:index/randomPassword:RandomPassword");
    expect(secrets).toHaveLength(model.pairs.reduce((n, x) => n + x.tunnels.length, 0));
    for (const s of secrets) expect(p(s)).toMatchObject({ length: 40, special: false });
  });
});

describe("stacks without a cloud boundary in their replication build no VPN", () => {
  it("dev: one cloud", async () => {
    const plan = await evaluateStack("dev", { areas: ["network"] });
    expect(plan.resources.filter((r) => r.type.includes("vpn") || r.type.includes("Vpn") || r.type.includes("VPN"))).toEqual([]);
  }, 120_000);
});
