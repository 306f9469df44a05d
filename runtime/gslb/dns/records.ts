/** From a GSLB decision (addresses and a TTL) to the records answering one question: A or AAAA by family. */
import type { DnsQuestion, DnsRecord } from "./message.js";

export function addressRecords(question: DnsQuestion, decision: { addresses: readonly string[]; ttl: number }): DnsRecord[] {
  if (question.type !== "A" && question.type !== "AAAA") return [];
  const v6 = question.type === "AAAA";
  return decision.addresses.filter((a) => a.includes(":") === v6).map((data) => ({ type: question.type as "A" | "AAAA", data, ttl: decision.ttl }));
}
