// Site-to-site VPN rules: each documented constraint broken once, in a small program under the recording
// mock runtime, refused with the provider's words; the valid variant beside it passes.
import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as network from "@pulumi/azure-native/network/index.js";
import { messages, refusals } from "./refuse.js";

const vpn = (name: string, extra: Partial<aws.ec2.VpnConnectionArgs>) =>
  new aws.ec2.VpnConnection(name, { customerGatewayId: "cgw-1", vpnGatewayId: "vgw-1", type: "ipsec.1", region: "us-east-1", ...extra });
const subnet = (name: string) => `/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/${name}`;
const gatewayId = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworkGateways/g";

describe("AWS site-to-site VPN rules", () => {
  it("aws-vpn-tunnel-inside-cidr: not a /30, outside 169.254.0.0/16, or a reserved /30 is refused", async () => {
    const v = await refusals(() => {
      vpn("ok", { tunnel1InsideCidr: "169.254.100.0/30", tunnel2InsideCidr: "169.254.100.4/30" });
      vpn("bad", { tunnel1InsideCidr: "169.254.1.0/30", tunnel2InsideCidr: "10.0.0.0/30" });
      vpn("wide", { tunnel1InsideCidr: "169.254.100.8/29" });
    });
    expect(messages(v, "aws-vpn-tunnel-inside-cidr")).toHaveLength(3);
    expect(messages(v, "aws-vpn-tunnel-inside-cidr")).toContainEqual(
      expect.stringMatching(/^InvalidParameterValue: tunnel1InsideCidr 169\.254\.1\.0\/30: A size \/30 CIDR block from the 169\.254\.0\.0\/16 range/),
    );
    expect(
      v
        .filter((x) => x.rule === "aws-vpn-tunnel-inside-cidr")
        .map((x) => x.name)
        .sort(),
    ).toEqual(["bad", "bad", "wide"]);
  });

  it("aws-vpn-tunnel-inside-cidr-unique: two connections on one gateway may not share an inside /30", async () => {
    const v = await refusals(() => {
      vpn("a", { tunnel1InsideCidr: "169.254.100.0/30", tunnel2InsideCidr: "169.254.100.4/30" });
      vpn("b", { tunnel1InsideCidr: "169.254.100.4/30", tunnel2InsideCidr: "169.254.100.8/30" });
      vpn("other-gateway", { vpnGatewayId: "vgw-2", tunnel1InsideCidr: "169.254.100.0/30", tunnel2InsideCidr: "169.254.100.12/30" });
    });
    expect(
      v
        .filter((x) => x.rule === "aws-vpn-tunnel-inside-cidr-unique")
        .map((x) => [x.name, x.message])
        .sort(),
    ).toEqual([
      ["a", "InvalidParameterValue: the inside CIDR 169.254.100.4/30 is already used by VPN connection b on virtual private gateway vgw-1"],
      ["b", "InvalidParameterValue: the inside CIDR 169.254.100.4/30 is already used by VPN connection a on virtual private gateway vgw-1"],
    ]);
  });

  it("aws-vpn-preshared-key: too short, a leading zero or a character AWS refuses", async () => {
    const v = await refusals(() => {
      vpn("ok", { tunnel1PresharedKey: "k.abc_DEF123" });
      vpn("short", { tunnel1PresharedKey: "k123" });
      vpn("zero", { tunnel1PresharedKey: "0abcdefgh" });
      vpn("dash", { tunnel2PresharedKey: "abc-defgh" });
    });
    expect(
      v
        .filter((x) => x.rule === "aws-vpn-preshared-key")
        .map((x) => x.name)
        .sort(),
    ).toEqual(["dash", "short", "zero"]);
    expect(messages(v, "aws-vpn-preshared-key")).toContainEqual(expect.stringMatching(/^InvalidParameterValue: tunnel2PresharedKey: Allowed characters are alphanumeric characters, periods/));
  });

  it("aws-customer-gateway-asn: 7224 anywhere, 9059 in eu-west-1 (but not elsewhere)", async () => {
    const v = await refusals(() => {
      new aws.ec2.CustomerGateway("amazon", { bgpAsn: "7224", ipAddress: "192.0.2.1", type: "ipsec.1", region: "us-east-1" });
      new aws.ec2.CustomerGateway("dublin", { bgpAsn: "9059", ipAddress: "192.0.2.2", type: "ipsec.1", region: "eu-west-1" });
      new aws.ec2.CustomerGateway("virginia", { bgpAsn: "9059", ipAddress: "192.0.2.3", type: "ipsec.1", region: "us-east-1" });
    });
    expect(
      v
        .filter((x) => x.rule === "aws-customer-gateway-asn")
        .map((x) => [x.name, x.message])
        .sort(),
    ).toEqual([
      ["amazon", "InvalidParameterValue: BGP ASN 7224 is reserved in all Regions"],
      ["dublin", "InvalidParameterValue: BGP ASN 9059 is reserved in the eu-west-1 Region"],
    ]);
  });
});

describe("GCP HA VPN and Cloud Router rules", () => {
  it("gcp-router-asn, gcp-router-interface-link-local", async () => {
    const v = await refusals(() => {
      new gcp.compute.Router("public", { name: "public", region: "us-central1", network: "n", bgp: { asn: 15169 } });
      new gcp.compute.Router("private", { name: "private", region: "us-central1", network: "n", bgp: { asn: 64514 } });
      new gcp.compute.RouterInterface("network-address", { name: "a", router: "private", region: "us-central1", ipRange: "169.254.100.0/30" });
      new gcp.compute.RouterInterface("rfc1918", { name: "b", router: "private", region: "us-central1", ipRange: "10.0.0.2/30" });
      new gcp.compute.RouterInterface("host", { name: "c", router: "private", region: "us-central1", ipRange: "169.254.100.2/30" });
    });
    expect(v.filter((x) => x.rule === "gcp-router-asn").map((x) => x.name)).toEqual(["public"]);
    expect(
      v
        .filter((x) => x.rule === "gcp-router-interface-link-local")
        .map((x) => x.name)
        .sort(),
    ).toEqual(["network-address", "rfc1918"]);
  });

  it("gcp-external-vpn-gateway-interfaces and gcp-ha-vpn-tunnel-dynamic-routing", async () => {
    const v = await refusals(() => {
      new gcp.compute.ExternalVpnGateway("three", { name: "three", redundancyType: "FOUR_IPS_REDUNDANCY", interfaces: [0, 1, 2].map((id) => ({ id, ipAddress: `192.0.2.${id + 1}` })) });
      new gcp.compute.ExternalVpnGateway("two", { name: "two", redundancyType: "TWO_IPS_REDUNDANCY", interfaces: [0, 1].map((id) => ({ id, ipAddress: `192.0.2.${id + 1}` })) });
      new gcp.compute.VPNTunnel("no-router", { name: "no-router", region: "us-central1", vpnGateway: "g", vpnGatewayInterface: 0, peerExternalGateway: "two", sharedSecret: "s" });
      new gcp.compute.VPNTunnel("ok", {
        name: "ok",
        region: "us-central1",
        vpnGateway: "g",
        vpnGatewayInterface: 0,
        peerExternalGateway: "two",
        peerExternalGatewayInterface: 0,
        router: "r",
        sharedSecret: "s",
      });
    });
    expect(v.filter((x) => x.rule === "gcp-external-vpn-gateway-interfaces").map((x) => x.name)).toEqual(["three"]);
    expect(messages(v, "gcp-ha-vpn-tunnel-dynamic-routing").sort()).toEqual([
      "googleapi: Error 400: Invalid value for field 'resource.peerExternalGatewayInterface': an HA VPN tunnel requires peerExternalGatewayInterface., invalid",
      "googleapi: Error 400: Invalid value for field 'resource.router': an HA VPN tunnel requires router., invalid",
    ]);
  });
});

describe("Azure VPN gateway rules", () => {
  const ip = (name: string, extra: Partial<network.PublicIPAddressArgs> = {}) =>
    new network.PublicIPAddress(name, { resourceGroupName: "rg", location: "westeurope", sku: { name: "Standard" }, publicIPAllocationMethod: "Static", zones: ["1", "2", "3"], ...extra });
  const gateway = (name: string, ips: network.PublicIPAddress[], extra: Partial<network.VirtualNetworkGatewayArgs> = {}) =>
    new network.VirtualNetworkGateway(name, {
      resourceGroupName: "rg",
      location: "westeurope",
      gatewayType: "Vpn",
      vpnType: "RouteBased",
      sku: { name: "VpnGw1AZ", tier: "VpnGw1AZ" },
      activeActive: true,
      ipConfigurations: ips.map((p, i) => ({ name: `instance-${i}`, subnet: { id: subnet("GatewaySubnet") }, publicIPAddress: { id: p.id } })),
      ...extra,
    });

  it("azure-vpn-gateway-subnet, -active-active, -az-public-ip", async () => {
    const v = await refusals(() => {
      gateway("ok", [ip("ok-0"), ip("ok-1")]);
      gateway("one-ip", [ip("one-0")]);
      gateway("basic", [ip("basic-0", { sku: { name: "Basic" }, zones: [] }), ip("basic-1")]);
      new network.VirtualNetworkGateway("wrong-subnet", {
        resourceGroupName: "rg",
        gatewayType: "Vpn",
        ipConfigurations: [{ name: "x", subnet: { id: subnet("default") } }],
      });
    });
    expect(v.filter((x) => x.rule === "azure-vpn-gateway-active-active").map((x) => x.name)).toEqual(["one-ip"]);
    expect(v.filter((x) => x.rule === "azure-vpn-gateway-az-public-ip").map((x) => x.message)).toEqual([
      "InvalidPublicIpSkuForAzGateway: VpnGw1AZ needs Standard SKU, statically allocated, zone-redundant public IPs; basic-0 is not.",
    ]);
    expect(messages(v, "azure-vpn-gateway-subnet")).toEqual([
      `InvalidGatewaySubnet: Subnet ${subnet("default")} referenced by a virtual network gateway IP configuration must be named GatewaySubnet.`,
    ]);
  });

  it("azure-vpn-apipa-bgp-address and azure-local-network-gateway-asn", async () => {
    const v = await refusals(() => {
      const ips = [ip("a-0"), ip("a-1")];
      gateway("apipa", ips, {
        enableBgp: true,
        bgpSettings: { asn: 65515, bgpPeeringAddresses: [{ ipconfigurationId: `${gatewayId}/ipConfigurations/instance-0`, customBgpIpAddresses: ["169.254.21.2", "169.254.30.2"] }] },
      });
      const local = new network.LocalNetworkGateway("reserved", { resourceGroupName: "rg", gatewayIpAddress: "192.0.2.1", bgpSettings: { asn: 65517, bgpPeeringAddress: "169.254.21.1" } });
      new network.LocalNetworkGateway("fine", { resourceGroupName: "rg", gatewayIpAddress: "192.0.2.2", bgpSettings: { asn: 64512, bgpPeeringAddress: "169.254.21.5" } });
      new network.VirtualNetworkGatewayConnection("c", {
        resourceGroupName: "rg",
        connectionType: "IPsec",
        virtualNetworkGateway1: { id: gatewayId },
        localNetworkGateway2: { id: local.id },
        gatewayCustomBgpIpAddresses: [{ ipConfigurationId: `${gatewayId}/ipConfigurations/instance-0`, customBgpIpAddress: "169.254.1.2" }],
      });
    });
    expect(
      v
        .filter((x) => x.rule === "azure-vpn-apipa-bgp-address")
        .map((x) => [x.name, x.message])
        .sort(),
    ).toEqual([
      ["apipa", "InvalidCustomBgpIpAddress: The custom BGP IP address 169.254.30.2 is invalid. The Azure APIPA BGP IP address must be in the range 169.254.21.0 to 169.254.22.255."],
      ["c", "InvalidCustomBgpIpAddress: The custom BGP IP address 169.254.1.2 is invalid. The Azure APIPA BGP IP address must be in the range 169.254.21.0 to 169.254.22.255."],
    ]);
    expect(v.filter((x) => x.rule === "azure-local-network-gateway-asn").map((x) => x.name)).toEqual(["reserved"]);
  });
});

describe("a preview (values the cloud assigns are unknown)", () => {
  it("unknown public IP ids of an active-active gateway are not taken for the same address", async () => {
    const v = await refusals(() => {
      const ips = [0, 1].map((i) => new network.PublicIPAddress(`p-${i}`, { resourceGroupName: "rg", sku: { name: "Standard" }, publicIPAllocationMethod: "Static", zones: ["1", "2", "3"] }));
      new network.VirtualNetworkGateway("g", {
        resourceGroupName: "rg",
        sku: { name: "VpnGw1AZ", tier: "VpnGw1AZ" },
        activeActive: true,
        ipConfigurations: ips.map((p, i) => ({ name: `instance-${i}`, subnet: { id: subnet("GatewaySubnet") }, publicIPAddress: { id: p.id } })),
      });
    }, "computed");
    expect(v).toEqual([]);
  });
});
