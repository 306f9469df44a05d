/**
 * The tunnels of one VPN pair, between the regions' endpoints (gateways.ts), wired as each pair's
 * documented HA setup (model/network/vpn.ts). Every tunnel has its own pre-shared key: random, kept only as a
 * Pulumi secret, in the characters AWS allows (alphanumerics, never a leading zero).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as random from "@pulumi/random";
import * as network from "@pulumi/azure-native/network/index.js";
import type { VpnPair, VpnPlan, VpnTunnel } from "../../model/network/vpn.js";
import type { AwsEnd, AzureEnd, GcpEnd } from "./gateways.js";

export interface Ends {
  aws: Map<string, AwsEnd>;
  gcp: Map<string, GcpEnd>;
  azure: Map<string, AzureEnd>;
}

const TAGS = { "meridian:part-of": "replication-vpn" };
const end = <T>(ends: Map<string, T>, id: string): T => {
  const e = ends.get(id);
  if (e === undefined) throw new Error(`no VPN endpoint built for region ${id}`);
  return e;
};

function sharedKey(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const key = new random.RandomPassword(name, { length: 40, special: false }, opts);
  return pulumi.secret(key.result.apply((k) => `k${k}`));
}

/** The two AWS VPN connections of a pair, each to one customer gateway (a peer address), two tunnels each. */
function awsConnections(
  pair: VpnPair,
  peerAddresses: pulumi.Input<string | undefined>[],
  peerAsn: number,
  keys: pulumi.Output<string>[],
  awsSide: AwsEnd,
  opts: pulumi.CustomResourceOptions,
): aws.ec2.VpnConnection[] {
  const region = pair.a.region;
  return ([0, 1] as const).map((c) => {
    const [t1, t2] = pair.tunnels.filter((t) => t.aws?.connection === c) as [VpnTunnel, VpnTunnel];
    const customer = new aws.ec2.CustomerGateway(
      `${pair.id}-cgw-${c}`,
      { bgpAsn: String(peerAsn), ipAddress: peerAddresses[c] as pulumi.Input<string>, type: "ipsec.1", region, tags: { ...TAGS, Name: `${pair.id}-${c}` } },
      opts,
    );
    return new aws.ec2.VpnConnection(
      `${pair.id}-vpn-${c}`,
      {
        vpnGatewayId: awsSide.gateway.id,
        customerGatewayId: customer.id,
        type: "ipsec.1",
        staticRoutesOnly: false,
        region,
        tunnel1InsideCidr: t1.insideCidr,
        tunnel2InsideCidr: t2.insideCidr,
        tunnel1PresharedKey: keys[t1.index]!,
        tunnel2PresharedKey: keys[t2.index]!,
        tunnel1IkeVersions: ["ikev2"],
        tunnel2IkeVersions: ["ikev2"],
        tags: { ...TAGS, Name: `${pair.id}-${c}` },
      },
      opts,
    );
  });
}

/** The AWS outside address of a tunnel (what the peer dials). */
const awsOutside = (conns: aws.ec2.VpnConnection[], t: VpnTunnel) => (t.aws!.tunnel === 1 ? conns[t.aws!.connection]!.tunnel1Address : conns[t.aws!.connection]!.tunnel2Address);

/** GCP's side of a pair: an external gateway naming the peer's addresses, then per tunnel a tunnel, a router interface and a BGP peer. */
function gcpSide(pair: VpnPair, side: GcpEnd, peerAddresses: pulumi.Input<string | undefined>[], peerAsn: number, keys: pulumi.Output<string>[], opts: pulumi.CustomResourceOptions): void {
  const gcpRegion = pair.a.cloud === "gcp" ? pair.a : pair.b;
  const project = side.router.project;
  const external = new gcp.compute.ExternalVpnGateway(
    `${pair.id}-peer`,
    {
      name: `${pair.id}-peer`,
      project,
      redundancyType: peerAddresses.length === 4 ? "FOUR_IPS_REDUNDANCY" : "TWO_IPS_REDUNDANCY",
      interfaces: peerAddresses.map((ipAddress, id) => ({ id, ipAddress: ipAddress as pulumi.Input<string> })),
    },
    opts,
  );
  for (const t of pair.tunnels) {
    const name = `${pair.id}-t${t.index}`;
    // GCP is `b` towards AWS and `a` towards Azure: its BGP address is the one on its own end.
    const [own, peer] = pair.a.cloud === "gcp" ? [t.aAddress, t.bAddress] : [t.bAddress, t.aAddress];
    const tunnel = new gcp.compute.VPNTunnel(
      name,
      {
        name,
        project,
        region: gcpRegion.region,
        vpnGateway: side.gateway.id,
        vpnGatewayInterface: t.gcpInterface!,
        peerExternalGateway: external.id,
        peerExternalGatewayInterface: t.index,
        sharedSecret: keys[t.index]!,
        router: side.router.name,
        ikeVersion: 2,
      },
      opts,
    );
    const iface = new gcp.compute.RouterInterface(name, { name, project, region: gcpRegion.region, router: side.router.name, ipRange: `${own}/30`, vpnTunnel: tunnel.name }, opts);
    new gcp.compute.RouterPeer(name, { name, project, region: gcpRegion.region, router: side.router.name, interface: iface.name, peerIpAddress: peer, peerAsn, advertisedRoutePriority: 100 }, opts);
  }
}

/** Azure's side of a pair: per tunnel a local network gateway (the peer's address and BGP speaker) and a connection. */
function azureSide(pair: VpnPair, side: AzureEnd, peerAddresses: pulumi.Input<string>[], peerAsn: number, keys: pulumi.Output<string>[], opts: pulumi.CustomResourceOptions): void {
  for (const t of pair.tunnels) {
    const name = `${pair.id}-t${t.index}`;
    const local = new network.LocalNetworkGateway(
      name,
      {
        resourceGroupName: side.resourceGroupName,
        localNetworkGatewayName: name,
        location: pair.b.region,
        gatewayIpAddress: peerAddresses[t.index]!,
        bgpSettings: { asn: peerAsn, bgpPeeringAddress: t.aAddress },
        tags: TAGS,
      },
      opts,
    );
    // Active-active: a connection names a BGP address on both instances; the one this tunnel lands on uses
    // the tunnel's own address, the other the address of its twin tunnel on that instance.
    const twin = pair.tunnels.find((o) => o.azureInstance !== t.azureInstance && (o.aws === undefined || o.aws.tunnel === t.aws?.tunnel))!;
    const addressOn = (instance: number) => (instance === t.azureInstance ? t.bAddress : twin.bAddress);
    new network.VirtualNetworkGatewayConnection(
      name,
      {
        resourceGroupName: side.resourceGroupName,
        virtualNetworkGatewayConnectionName: name,
        location: pair.b.region,
        connectionType: "IPsec",
        connectionProtocol: "IKEv2",
        virtualNetworkGateway1: { id: side.gateway.id },
        localNetworkGateway2: { id: local.id },
        sharedKey: keys[t.index]!,
        enableBgp: true,
        gatewayCustomBgpIpAddresses: side.ipConfigurationIds.map((ipConfigurationId, i) => ({ ipConfigurationId, customBgpIpAddress: addressOn(i) })),
        tags: TAGS,
      },
      opts,
    );
  }
}

/** Every tunnel of one pair. */
export function vpnTunnels(plan: VpnPlan, pair: VpnPair, ends: Ends, opts: pulumi.CustomResourceOptions): void {
  const keys = pair.tunnels.map((t) => sharedKey(`${pair.id}-t${t.index}-key`, opts));
  if (pair.kind === "aws-gcp") {
    const g = end(ends.gcp, pair.b.id);
    const ifaces = [0, 1].map((i) => g.gateway.vpnInterfaces.apply((v) => v[i]?.ipAddress));
    const conns = awsConnections(pair, ifaces, plan.asn.gcp, keys, end(ends.aws, pair.a.id), opts);
    gcpSide(
      pair,
      g,
      pair.tunnels.map((t) => awsOutside(conns, t)),
      plan.asn.aws,
      keys,
      opts,
    );
  } else if (pair.kind === "aws-azure") {
    const z = end(ends.azure, pair.b.id);
    const conns = awsConnections(pair, z.addresses, plan.asn.azure, keys, end(ends.aws, pair.a.id), opts);
    azureSide(
      pair,
      z,
      pair.tunnels.map((t) => awsOutside(conns, t)),
      plan.asn.aws,
      keys,
      opts,
    );
  } else {
    const g = end(ends.gcp, pair.a.id);
    const z = end(ends.azure, pair.b.id);
    gcpSide(pair, g, z.addresses, plan.asn.azure, keys, opts);
    azureSide(
      pair,
      z,
      [0, 1].map((i) => g.gateway.vpnInterfaces.apply((v) => v[i]?.ipAddress ?? "")),
      plan.asn.gcp,
      keys,
      opts,
    );
  }
}
