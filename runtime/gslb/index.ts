/**
 * runtime/gslb: the GSLB's DNS edge — an authoritative server for the estate's zone (UDP and TCP) that
 * answers from an `answer(question, client)` function (which records; the local estate's traffic model
 * decides) — and a small stub client for drills.
 */
export { startDnsServer, type DnsServer, type DnsServerOptions } from "./dns/server.js";
export { handleMessage, zoneOf, CLASSIC_UDP_BYTES, EDNS_UDP_BYTES, type DnsAnswerFn, type DnsClient, type DnsQuestion, type DnsRecord, type ZoneOptions } from "./dns/message.js";
export { addressRecords } from "./dns/records.js";
export { queryA } from "./dns-client.js";
