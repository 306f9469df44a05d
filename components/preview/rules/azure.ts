/**
 * Azure rules (azure-native speaks ARM directly: refusals are the resource provider's error codes and
 * the API's own property docs, which the SDK carries as doc comments): PostgreSQL flexible servers,
 * Traffic Manager, Azure DNS and Azure Cache for Redis.
 */
import type { RecordedResource } from "../mock-runtime.js";
import { arr, at, inputs, ip, known, num, obj, str, type PlanView, type ProviderRule } from "./rule.js";

const SERVER = "azure-native:dbforpostgresql:Server";
const PROFILE = "azure-native:trafficmanager:Profile";
const ENDPOINT = "azure-native:trafficmanager:Endpoint";
const RECORD_SET = "azure-native:dns:RecordSet";
const REDIS = "azure-native:redis:Redis";
const VAULT_SECRET = "azure-native:keyvault:Secret";
/** Names Azure refuses for a flexible server's administrator (besides any starting with pg_). */
const RESERVED_ADMINS = ["azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public"];
const SDK = "https://github.com/pulumi/pulumi-azure-native/blob/master/sdk/nodejs";
const TM_MONITORING = "https://learn.microsoft.com/en-us/azure/traffic-manager/traffic-manager-monitoring#configure-endpoint-monitoring";

const creates = (p: Record<string, unknown>) => p["createMode"] === undefined || p["createMode"] === "Create" || p["createMode"] === "Default";
const STORAGE_SIZES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767];

/** The profile an endpoint belongs to (its `profileName` input names the profile's `profileName`). */
function profileOf(endpoint: RecordedResource, plan: PlanView): RecordedResource | undefined {
  const name = inputs(endpoint)["profileName"];
  return plan.ofType(PROFILE).find((p) => inputs(p)["profileName"] === name);
}

export const azureRules: ProviderRule[] = [
  {
    id: "azure-postgres-private-dns-zone",
    provider: "azure",
    types: [SERVER],
    summary: "A VNet-integrated flexible server (delegatedSubnetResourceId) needs privateDnsZoneArmResourceId at creation",
    source: `${SDK}/types/input.ts (dbforpostgresql NetworkArgs.privateDnsZoneArmResourceId); https://learn.microsoft.com/en-us/azure/postgresql/flexible-server/concepts-networking-private#using-a-private-dns-zone`,
    check(r) {
      const p = inputs(r);
      const network = obj(p["network"]);
      if (!creates(p) || network["delegatedSubnetResourceId"] === undefined) return [];
      const zone = str(network["privateDnsZoneArmResourceId"]);
      if (network["privateDnsZoneArmResourceId"] === undefined) {
        return [
          "BadRequest: network.privateDnsZoneArmResourceId: Identifier of the private DNS zone. Required during creation of a new server, in case you want the server to be integrated into your own virtual network.",
        ];
      }
      if (zone !== undefined && !/\/privateDnsZones\/[^/]+\.postgres\.database\.azure\.com$/i.test(zone)) {
        return [`InvalidPrivateDnsZoneName: The private DNS zone '${zone.split("/").pop()}' must end with '.postgres.database.azure.com'.`];
      }
      return [];
    },
  },
  {
    id: "azure-postgres-administrator-login",
    provider: "azure",
    types: [SERVER],
    summary: "A new server with password authentication enabled (the default) needs administratorLogin and administratorLoginPassword",
    source: `${SDK}/dbforpostgresql/server.ts (administratorLogin: "Must be specified the first time that you enable password based authentication")`,
    check(r) {
      const p = inputs(r);
      if (!creates(p) || at(p, "authConfig.passwordAuth") === "Disabled") return [];
      const missing = ["administratorLogin", "administratorLoginPassword"].filter((k) => p[k] === undefined);
      return missing.length === 0 ? [] : [`BadRequest: ${missing.join(" and ")} must be specified the first time that you enable password based authentication on a server.`];
    },
  },
  {
    id: "azure-postgres-administrator-name",
    provider: "azure",
    types: [SERVER],
    summary: "administratorLogin is 1-63 characters, not a reserved name (azure_superuser, azure_pg_admin, admin, administrator, root, guest, public) and not starting with pg_",
    source: "https://learn.microsoft.com/en-us/azure/postgresql/flexible-server/quickstart-create-server#create-an-azure-database-for-postgresql-flexible-server (Admin username)",
    check(r) {
      const login = str(inputs(r)["administratorLogin"]);
      if (login === undefined || (login.length <= 63 && !RESERVED_ADMINS.includes(login.toLowerCase()) && !/^pg_/i.test(login))) return [];
      return [
        `InvalidParameterValue: Invalid value given for parameter administratorLogin '${login}'. Your admin username must be 1-63 characters, can't be azure_superuser, azure_pg_admin, admin, administrator, root, guest, or public, and can't start with pg_.`,
      ];
    },
  },
  {
    id: "azure-postgres-replica-source",
    provider: "azure",
    types: [SERVER],
    summary: "createMode Replica (and the restore modes) needs sourceServerResourceId",
    source: `${SDK}/dbforpostgresql/server.ts (sourceServerResourceId doc comment)`,
    check(r) {
      const p = inputs(r);
      const mode = str(p["createMode"]);
      if (mode === undefined || !["Replica", "PointInTimeRestore", "GeoRestore", "ReviveDropped"].includes(mode) || p["sourceServerResourceId"] !== undefined) return [];
      return [`BadRequest: sourceServerResourceId: Identifier of the server to be used as the source of the new server. Required when 'createMode' is '${mode}'.`];
    },
  },
  {
    id: "azure-postgres-storage-size",
    provider: "azure",
    types: [SERVER],
    summary: "storageSizeGB is one of 32, 64, 128, …, 16384, 32767",
    source: "https://learn.microsoft.com/en-us/azure/postgresql/flexible-server/concepts-storage",
    check(r) {
      const size = num(at(inputs(r), "storage.storageSizeGB"));
      return size === undefined || STORAGE_SIZES.includes(size) ? [] : [`InvalidStorageSize: The requested storage size ${size} GB is not supported. Supported sizes: ${STORAGE_SIZES.join(", ")}.`];
    },
  },
  {
    id: "azure-postgres-server-name",
    provider: "azure",
    types: [SERVER],
    summary: "Server names: 3-63 characters, lowercase letters, digits and '-', not starting or ending with '-'",
    source: "https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/resource-name-rules#microsoftdbforpostgresql",
    check(r) {
      const name = str(inputs(r)["serverName"]);
      if (name === undefined || /^[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])$/.test(name)) return [];
      return [
        `InvalidServerName: Server name '${name}' can only be made up of lowercase letters 'a'-'z', the numbers 0-9 and the hyphen. The hyphen may not lead or trail in the name, and the name is 3 to 63 characters long.`,
      ];
    },
  },
  {
    id: "azure-traffic-manager-monitor",
    provider: "azure",
    types: [PROFILE],
    summary: "Monitor: interval 30 or 10 s; timeout 5-10 s (5-9 s at 10 s); 0-9 tolerated failures; a path for HTTP(S) only, starting with '/'",
    source: TM_MONITORING,
    check(r) {
      const m = obj(inputs(r)["monitorConfig"]);
      const out: string[] = [];
      const interval = num(m["intervalInSeconds"]) ?? 30;
      const timeout = num(m["timeoutInSeconds"]) ?? 10;
      const tolerated = num(m["toleratedNumberOfFailures"]) ?? 3;
      if (interval !== 10 && interval !== 30) out.push(`BadRequest: The monitor interval ${interval} is not valid. Valid values are 10 and 30 seconds.`);
      const maxTimeout = interval === 10 ? 9 : 10;
      if (timeout < 5 || timeout > maxTimeout) out.push(`BadRequest: The monitor timeout ${timeout} is not valid for an interval of ${interval} seconds; it must be between 5 and ${maxTimeout}.`);
      if (tolerated < 0 || tolerated > 9) out.push(`BadRequest: The tolerated number of failures ${tolerated} is not valid; it must be between 0 and 9.`);
      const protocol = str(m["protocol"]);
      const path = m["path"];
      if (protocol === "TCP" && path !== undefined) out.push("BadRequest: A monitor path cannot be specified when the monitor protocol is TCP.");
      if ((protocol === "HTTP" || protocol === "HTTPS") && (typeof path !== "string" || !path.startsWith("/")))
        out.push("BadRequest: The monitor path must be a relative path starting with '/' when the monitor protocol is HTTP or HTTPS.");
      const headers = arr(m["customHeaders"]);
      if (headers.length > 8) out.push("BadRequest: At most 8 custom headers are allowed.");
      return out;
    },
  },
  {
    id: "azure-traffic-manager-endpoint",
    provider: "azure",
    types: [ENDPOINT],
    summary: "Weights and priorities are 1-1000 (priorities unique per profile); Geographic profiles need geoMapping, Performance external endpoints endpointLocation; external endpoints a target",
    source: `${SDK}/trafficmanager/endpoint.ts (weight, priority, geoMapping, endpointLocation doc comments); https://learn.microsoft.com/en-us/azure/traffic-manager/traffic-manager-routing-methods`,
    check(r, plan) {
      const p = inputs(r);
      const out: string[] = [];
      const weight = num(p["weight"]);
      const priority = num(p["priority"]);
      if (weight !== undefined && (weight < 1 || weight > 1000)) out.push(`BadRequest: The weight ${weight} is not valid. Possible values are from 1 to 1000.`);
      if (priority !== undefined && (priority < 1 || priority > 1000)) out.push(`BadRequest: The priority ${priority} is not valid. Possible values are from 1 to 1000.`);
      const profile = profileOf(r, plan);
      const method = profile ? str(inputs(profile)["trafficRoutingMethod"]) : undefined;
      if (method === "Geographic" && arr(p["geoMapping"]).length === 0)
        out.push("BadRequest: Endpoints in a profile with the Geographic traffic routing method must have at least one geographic region (geoMapping).");
      if (method === "Performance" && p["endpointType"] === "ExternalEndpoints" && p["endpointLocation"] === undefined)
        out.push("BadRequest: Endpoint location is required for external endpoints in a profile with the Performance traffic routing method.");
      if (method === "Priority" && priority !== undefined && profile) {
        const clash = plan.ofType(ENDPOINT).find((e) => e !== r && profileOf(e, plan) === profile && num(inputs(e)["priority"]) === priority);
        if (clash) out.push(`BadRequest: Endpoint priorities must be unique within a profile; ${clash.name} also has priority ${priority}.`);
      }
      if (p["endpointType"] === "ExternalEndpoints" && p["target"] === undefined) out.push("BadRequest: The 'target' property is required for endpoints of type 'ExternalEndpoints'.");
      if (p["endpointType"] === "NestedEndpoints" && p["targetResourceId"] === undefined) out.push("BadRequest: The 'targetResourceId' property is required for endpoints of type 'NestedEndpoints'.");
      return out;
    },
  },
  {
    id: "azure-dns-address-records",
    provider: "azure",
    types: [RECORD_SET],
    summary: "aRecords carry IPv4 addresses, aaaaRecords IPv6 addresses",
    source: `${SDK}/types/input.ts (dns ARecordArgs.ipv4Address)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      for (const a of arr(p["aRecords"])) {
        const v = obj(a)["ipv4Address"];
        if (typeof v === "string" && known(v) && !ip.v4(v)) out.push(`BadRequest: The value '${v}' of ipv4Address is not a valid IPv4 address.`);
      }
      for (const a of arr(p["aaaaRecords"])) {
        const v = obj(a)["ipv6Address"];
        if (typeof v === "string" && known(v) && !ip.v6(v)) out.push(`BadRequest: The value '${v}' of ipv6Address is not a valid IPv6 address.`);
      }
      if (p["recordType"] === "CNAME" && (p["relativeRecordSetName"] === "@" || p["relativeRecordSetName"] === "")) out.push("BadRequest: A CNAME record set cannot be created at the zone apex.");
      return out;
    },
  },
  {
    id: "azure-redis-sku",
    provider: "azure",
    types: [REDIS],
    summary: "SKU family C goes with Basic/Standard (capacity 0-6), family P with Premium (capacity 1-5)",
    source: `${SDK}/types/input.ts (redis SkuArgs.family, capacity)`,
    check(r) {
      const sku = obj(inputs(r)["sku"]);
      const name = str(sku["name"]);
      const family = str(sku["family"]);
      const capacity = num(sku["capacity"]);
      const out: string[] = [];
      if (family === "P" && name !== "Premium") out.push(`BadRequest: SKU family 'P' is only valid with SKU name 'Premium', got '${name}'.`);
      if (family === "C" && name === "Premium") out.push("BadRequest: SKU family 'C' is only valid with SKU names 'Basic' and 'Standard'.");
      if (capacity !== undefined && family === "P" && (capacity < 1 || capacity > 5)) out.push(`BadRequest: Capacity ${capacity} is not valid for family P (1 to 5).`);
      if (capacity !== undefined && family === "C" && (capacity < 0 || capacity > 6)) out.push(`BadRequest: Capacity ${capacity} is not valid for family C (0 to 6).`);
      return out;
    },
  },
  {
    id: "azure-keyvault-secret-name",
    provider: "azure",
    types: [VAULT_SECRET],
    summary: "Key Vault secret names: 1-127 characters, letters, digits and '-' only",
    source: "https://learn.microsoft.com/en-us/azure/key-vault/general/about-keys-secrets-certificates#objects-identifiers-and-versioning",
    check(r) {
      const name = str(inputs(r)["secretName"]);
      if (name === undefined || /^[0-9a-zA-Z-]{1,127}$/.test(name)) return [];
      return [`BadParameter: The request URI contains an invalid name: ${name}`];
    },
  },
];
