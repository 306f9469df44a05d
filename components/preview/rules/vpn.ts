/**
 * Site-to-site VPN rules (components/network), per cloud: what AWS's VPN tunnel options, Google's HA VPN and
 * Cloud Router, and Azure's VPN gateway refuse. Messages are the providers' documented constraints, in the
 * words of the API reference each `source` links.
 */
import type { RecordedResource } from "../mock-runtime.js";
import { arr, at, inputs, known, num, obj, str, type PlanView, type ProviderRule } from "./rule.js";

const AWS_VPN = "aws:ec2/vpnConnection:VpnConnection";
const AWS_CGW = "aws:ec2/customerGateway:CustomerGateway";
const GCP_ROUTER = "gcp:compute/router:Router";
const GCP_ROUTER_INTERFACE = "gcp:compute/routerInterface:RouterInterface";
const GCP_EXTERNAL = "gcp:compute/externalVpnGateway:ExternalVpnGateway";
const GCP_TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel";
const AZ_GATEWAY = "azure-native:network:VirtualNetworkGateway";
const AZ_CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection";
const AZ_LOCAL = "azure-native:network:LocalNetworkGateway";
const AZ_IP = "azure-native:network:PublicIPAddress";

const AWS_TUNNEL_DOCS = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpnTunnelOptionsSpecification.html";
const AZURE_BGP_DOCS = "https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-vpn-faq#bgp";

const octets = (ip: string) => ip.split(".").map(Number);
const ipInt = (ip: string) => octets(ip).reduce((n, o) => n * 256 + o, 0);
const isIpv4 = (s: string) => /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) && octets(s).every((o) => o <= 255);

/** A /30 inside 169.254.0.0/16 (link-local), on its own boundary. */
function linkLocalSlash30(cidr: string): boolean {
  const [addr, len] = cidr.split("/");
  return len === "30" && addr !== undefined && isIpv4(addr) && addr.startsWith("169.254.") && ipInt(addr) % 4 === 0;
}

const AWS_RESERVED = ["169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30", "169.254.4.0/30", "169.254.5.0/30", "169.254.169.252/30"];
const APIPA = { first: ipInt("169.254.21.0"), last: ipInt("169.254.22.255") };
const AZURE_RESERVED_ASNS = [8074, 8075, 12076, 65515, 65517, 65518, 65519, 65520];
const privateAsn = (n: number) => (n >= 64512 && n <= 65534) || (n >= 4_200_000_000 && n <= 4_294_967_294);

/** The public IP resources a gateway's inputs came from (its data dependencies). */
function publicIpsOf(r: RecordedResource, plan: PlanView): RecordedResource[] {
  return r.dependencies.map((u) => plan.byUrn.get(u)).filter((d): d is RecordedResource => d?.type === AZ_IP);
}

export const vpnRules: ProviderRule[] = [
  {
    id: "aws-vpn-tunnel-inside-cidr",
    provider: "aws",
    types: [AWS_VPN],
    summary: "A tunnel's inside CIDR is a /30 from 169.254.0.0/16, not one of the /30s AWS reserves",
    source: `${AWS_TUNNEL_DOCS} (TunnelInsideCidr)`,
    check(r) {
      const out: string[] = [];
      for (const n of [1, 2]) {
        const cidr = str(inputs(r)[`tunnel${n}InsideCidr`]);
        if (cidr === undefined) continue;
        if (!linkLocalSlash30(cidr) || AWS_RESERVED.includes(cidr))
          out.push(
            `InvalidParameterValue: tunnel${n}InsideCidr ${cidr}: A size /30 CIDR block from the 169.254.0.0/16 range. The following CIDR blocks are reserved and cannot be used: ${AWS_RESERVED.join(", ")}`,
          );
      }
      return out;
    },
  },
  {
    id: "aws-vpn-tunnel-inside-cidr-unique",
    provider: "aws",
    types: [AWS_VPN],
    summary: "Inside CIDRs are unique across all VPN connections on the same virtual private gateway",
    source: `${AWS_TUNNEL_DOCS} (TunnelInsideCidr: must be unique across all VPN connections that use the same virtual private gateway)`,
    check(r, plan) {
      const gateway = str(inputs(r)["vpnGatewayId"]);
      if (gateway === undefined) return [];
      const mine = [1, 2].map((n) => str(inputs(r)[`tunnel${n}InsideCidr`])).filter((c): c is string => c !== undefined);
      const out: string[] = [];
      for (const other of plan.ofType(AWS_VPN)) {
        if (other.urn === r.urn || str(inputs(other)["vpnGatewayId"]) !== gateway) continue;
        for (const n of [1, 2]) {
          const cidr = str(inputs(other)[`tunnel${n}InsideCidr`]);
          if (cidr !== undefined && mine.includes(cidr))
            out.push(`InvalidParameterValue: the inside CIDR ${cidr} is already used by VPN connection ${other.name} on virtual private gateway ${gateway}`);
        }
      }
      if (mine.length === 2 && mine[0] === mine[1]) out.push(`InvalidParameterValue: tunnel1InsideCidr and tunnel2InsideCidr are both ${mine[0]}`);
      return out;
    },
  },
  {
    id: "aws-vpn-preshared-key",
    provider: "aws",
    types: [AWS_VPN],
    summary: "A tunnel's pre-shared key is 8–64 alphanumerics, periods or underscores, not starting with 0",
    source: `${AWS_TUNNEL_DOCS} (PreSharedKey)`,
    check(r) {
      const out: string[] = [];
      for (const n of [1, 2]) {
        const key = str(inputs(r)[`tunnel${n}PresharedKey`]);
        if (key === undefined || /^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$/.test(key)) continue;
        out.push(
          `InvalidParameterValue: tunnel${n}PresharedKey: Allowed characters are alphanumeric characters, periods (.), and underscores (_). Must be between 8 and 64 characters in length and cannot start with zero (0).`,
        );
      }
      return out;
    },
  },
  {
    id: "aws-customer-gateway-asn",
    provider: "aws",
    types: [AWS_CGW],
    summary: "A customer gateway's BGP ASN is not one AWS reserves (7224 everywhere; 9059, 10124, 17943 in their regions)",
    source: "https://docs.aws.amazon.com/vpn/latest/s2svpn/cgw-options.html",
    check(r) {
      const asn = Number(str(inputs(r)["bgpAsn"]) ?? NaN);
      const region = str(inputs(r)["region"]);
      const reserved: Record<number, string | undefined> = { 7224: undefined, 9059: "eu-west-1", 10124: "ap-northeast-1", 17943: "ap-southeast-1" };
      if (!(asn in reserved)) return [];
      const where = reserved[asn];
      if (where !== undefined && region !== undefined && region !== where) return [];
      return [`InvalidParameterValue: BGP ASN ${asn} is reserved${where ? ` in the ${where} Region` : " in all Regions"}`];
    },
  },
  {
    id: "gcp-router-asn",
    provider: "gcp",
    types: [GCP_ROUTER],
    summary: "A Cloud Router's ASN is a private ASN (64512–65534, 4200000000–4294967294)",
    source: "https://cloud.google.com/network-connectivity/docs/router/concepts/overview#asns",
    check(r) {
      const asn = num(at(inputs(r), "bgp.asn"));
      if (asn === undefined || privateAsn(asn)) return [];
      return [`googleapi: Error 400: Invalid value for field 'resource.bgp.asn': '${asn}'. The ASN must be a private ASN (64512-65534, 4200000000-4294967294)., invalid`];
    },
  },
  {
    id: "gcp-router-interface-link-local",
    provider: "gcp",
    types: [GCP_ROUTER_INTERFACE],
    summary: "A Cloud Router interface for a VPN tunnel takes a link-local /30 (169.254.0.0/16)",
    source: "https://cloud.google.com/network-connectivity/docs/router/how-to/configure-bgp-sessions (BGP IP addresses: link-local, /30)",
    check(r) {
      const range = str(inputs(r)["ipRange"]);
      if (range === undefined) return [];
      const [addr, len] = range.split("/");
      if (len === "30" && addr !== undefined && isIpv4(addr) && addr.startsWith("169.254.") && ipInt(addr) % 4 !== 0 && ipInt(addr) % 4 !== 3) return [];
      return [`googleapi: Error 400: Invalid value for field 'resource.interfaces[0].ipRange': '${range}'. The IP range must be a host address in a link-local (169.254.0.0/16) /30., invalid`];
    },
  },
  {
    id: "gcp-external-vpn-gateway-interfaces",
    provider: "gcp",
    types: [GCP_EXTERNAL],
    summary: "An external VPN gateway has interfaces 0..n-1 for its redundancy type (SINGLE 1, TWO 2, FOUR 4)",
    source: "https://cloud.google.com/network-connectivity/docs/vpn/concepts/topologies#configurations_that_support_99_99_availability",
    check(r) {
      const type = str(inputs(r)["redundancyType"]);
      const want = type === "FOUR_IPS_REDUNDANCY" ? 4 : type === "TWO_IPS_REDUNDANCY" ? 2 : type === "SINGLE_IP_INTERNALLY_REDUNDANT" ? 1 : undefined;
      if (want === undefined) return [];
      const ids = arr(inputs(r)["interfaces"]).map((i) => num(obj(i)["id"]));
      if (ids.length === want && ids.every((id, i) => id === i)) return [];
      return [`googleapi: Error 400: Invalid value for field 'resource.interfaces': ${type} requires exactly ${want} interface(s) with ids 0..${want - 1}; got [${ids.join(", ")}]., invalid`];
    },
  },
  {
    id: "gcp-ha-vpn-tunnel-dynamic-routing",
    provider: "gcp",
    types: [GCP_TUNNEL],
    summary: "An HA VPN tunnel names its gateway interface and the peer's, and a Cloud Router (HA VPN routes with BGP only)",
    source: "https://cloud.google.com/network-connectivity/docs/vpn/concepts/overview#ha-vpn (HA VPN supports dynamic (BGP) routing only)",
    check(r) {
      const p = inputs(r);
      if (p["vpnGateway"] === undefined) return [];
      const missing = ["vpnGatewayInterface", "router", ...(p["peerExternalGateway"] !== undefined ? ["peerExternalGatewayInterface"] : [])].filter((k) => p[k] === undefined);
      return missing.map((k) => `googleapi: Error 400: Invalid value for field 'resource.${k}': an HA VPN tunnel requires ${k}., invalid`);
    },
  },
  {
    id: "azure-vpn-gateway-subnet",
    provider: "azure",
    types: [AZ_GATEWAY],
    summary: "A virtual network gateway's IP configurations use the VNet's subnet named GatewaySubnet",
    source: "https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-about-vpn-gateway-settings#gwsub",
    check(r) {
      return arr(inputs(r)["ipConfigurations"])
        .map((c) => str(at(c, "subnet.id")))
        .filter((id): id is string => id !== undefined && !/\/subnets\/GatewaySubnet$/.test(id))
        .map((id) => `InvalidGatewaySubnet: Subnet ${id} referenced by a virtual network gateway IP configuration must be named GatewaySubnet.`);
    },
  },
  {
    id: "azure-vpn-gateway-active-active",
    provider: "azure",
    types: [AZ_GATEWAY],
    summary: "An active-active VPN gateway has two IP configurations, each with its own public IP",
    source: "https://learn.microsoft.com/en-us/azure/vpn-gateway/active-active-portal",
    check(r) {
      const p = inputs(r);
      if (p["activeActive"] !== true) return [];
      const configs = arr(p["ipConfigurations"]);
      // Addresses the cloud has yet to assign (a preview) are taken as distinct, as Azure would see them.
      const ids = configs.map((c) => at(c, "publicIPAddress.id")).filter((id) => known(id));
      if (configs.length === 2 && new Set(ids.map((id) => JSON.stringify(id))).size === ids.length) return [];
      return [`ActiveActiveGatewayRequiresTwoIpConfigurations: an active-active virtual network gateway needs exactly two IP configurations with distinct public IP addresses; got ${configs.length}.`];
    },
  },
  {
    id: "azure-vpn-gateway-az-public-ip",
    provider: "azure",
    types: [AZ_GATEWAY],
    summary: "A zone-redundant (…AZ) VPN gateway uses Standard-SKU, static, zone-redundant public IPs",
    source: "https://learn.microsoft.com/en-us/azure/vpn-gateway/about-zone-redundant-vnet-gateways",
    check(r, plan) {
      const sku = str(at(inputs(r), "sku.name"));
      if (sku === undefined || !sku.endsWith("AZ")) return [];
      return publicIpsOf(r, plan)
        .filter((ipr) => {
          const p = inputs(ipr);
          return str(at(p, "sku.name")) !== "Standard" || p["publicIPAllocationMethod"] !== "Static" || arr(p["zones"]).length < 2;
        })
        .map((ipr) => `InvalidPublicIpSkuForAzGateway: ${sku} needs Standard SKU, statically allocated, zone-redundant public IPs; ${ipr.name} is not.`);
    },
  },
  {
    id: "azure-vpn-apipa-bgp-address",
    provider: "azure",
    types: [AZ_GATEWAY, AZ_CONNECTION],
    summary: "Custom (APIPA) BGP addresses of an Azure VPN gateway lie in 169.254.21.0–169.254.22.255",
    source: AZURE_BGP_DOCS,
    check(r) {
      const p = inputs(r);
      const addresses =
        r.type === AZ_GATEWAY
          ? arr(at(p, "bgpSettings.bgpPeeringAddresses")).flatMap((b) => arr(obj(b)["customBgpIpAddresses"]))
          : arr(p["gatewayCustomBgpIpAddresses"]).map((c) => obj(c)["customBgpIpAddress"]);
      return addresses
        .filter((a): a is string => typeof a === "string" && known(a))
        .filter((a) => !isIpv4(a) || ipInt(a) < APIPA.first || ipInt(a) > APIPA.last)
        .map((a) => `InvalidCustomBgpIpAddress: The custom BGP IP address ${a} is invalid. The Azure APIPA BGP IP address must be in the range 169.254.21.0 to 169.254.22.255.`);
    },
  },
  {
    id: "azure-local-network-gateway-asn",
    provider: "azure",
    types: [AZ_LOCAL],
    summary: "A local network gateway's (the peer's) ASN is not one Azure reserves",
    source: AZURE_BGP_DOCS,
    check(r) {
      const asn = num(at(inputs(r), "bgpSettings.asn"));
      if (asn === undefined || !AZURE_RESERVED_ASNS.includes(asn)) return [];
      return [`InvalidBgpAsn: ASN ${asn} is reserved by Azure (${AZURE_RESERVED_ASNS.join(", ")}) and cannot be used by an on-premises VPN device.`];
    },
  },
];
