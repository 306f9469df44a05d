/**
 * `meridian dns import|export|diff`: zones as data (model/traffic/zone-sync.ts). import turns a master
 * file or an octoDNS zone YAML into the `records:` of a stack's `meridian:dns`; export writes the zone a
 * provider serves for a stack as a master file (named-checkzone reads it); diff prints, per provider, what
 * `pulumi up` would add, change and delete against a zone file — exit 0 when nothing, 1 when something;
 * ds prints the DS records a signed stack's parent zone needs, from the stack's outputs after `pulumi up`.
 */
import type { Command } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { UserError } from "../errors.js";

function readInput(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(`--from ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
}

function emit(text: string, out: string | undefined): void {
  if (out === undefined) process.stdout.write(text);
  else writeFileSync(out, text);
}

/** Model errors on user input (zone file lines, octoDNS values) are usage errors. */
async function userInput<T>(work: () => T | Promise<T>): Promise<T> {
  const { ZoneInputError } = await import("../../model/traffic/zonefile.js");
  try {
    return await work();
  } catch (err) {
    if (err instanceof ZoneInputError) throw new UserError(err.message);
    throw err;
  }
}

async function loadZone(file: string, origin: string | undefined) {
  const text = readInput(file);
  const { parseZoneFile } = await import("../../model/traffic/zonefile.js");
  if (/\.json$/i.test(file)) {
    // A provider's export: Route 53 list-resource-record-sets or Cloud DNS record-sets list, as JSON.
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new UserError(`--from ${file}: not JSON: ${(err as Error).message}`);
    }
    const { providerExportZone } = await import("../../model/traffic/provider-export.js");
    return userInput(() => providerExportZone(doc, origin, file));
  }
  if (/\.ya?ml$/i.test(file)) {
    // octoDNS names zone files after the zone: example.com.yaml.
    const zoneName = origin ?? basename(file).replace(/\.ya?ml$/i, "");
    const { absoluteName } = await import("../../model/traffic/rdata.js");
    const { parse } = await import("yaml");
    const { octodnsZone } = await import("../../model/traffic/zone-sync.js");
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (err) {
      throw new UserError(`--from ${file}: not YAML: ${(err as Error).message}`);
    }
    return userInput(() => octodnsZone(doc, absoluteName(zoneName, null), file));
  }
  return userInput(() => parseZoneFile(text, { ...(origin ? { origin } : {}), source: file }));
}

async function stackPolicy(stack: string) {
  const { loadStack } = await import("../../stacks/load.js");
  const { buildEstateSpec } = await import("../../model/estate.js");
  const { trafficPolicy } = await import("../../model/traffic/policy.js");
  return trafficPolicy(buildEstateSpec(stack, loadStack(stack)));
}

function pickProviders<P extends string>(chain: readonly P[], provider: string | undefined, stack: string): P[] {
  if (provider === undefined) return [...chain];
  if (!chain.includes(provider as P)) throw new UserError(`--provider ${provider}: stack ${stack} serves its zone on ${chain.join(", ")}`);
  return [provider as P];
}

export function register(program: Command): void {
  const dns = program.command("dns").description("DNS zones as data: import an existing zone, export a stack's zone, diff a stack against a zone file");

  dns
    .command("import")
    .description("turn a zone (RFC 1035 master file, octoDNS zone YAML, or a provider's JSON export) into the `records:` of a stack's meridian:dns")
    .requiredOption("--from <file>", "zone file (master file; *.yaml / *.yml: an octoDNS YamlProvider zone; *.json: Route 53 list-resource-record-sets or Cloud DNS record-sets list output)")
    .option("--origin <name>", "the zone's name when the file has no $ORIGIN or SOA (octoDNS: default from the file name)")
    .option("--out <file>", "write the YAML fragment here instead of stdout")
    .action(async (o: { from: string; origin?: string; out?: string }) => {
      const zone = await loadZone(o.from, o.origin);
      const { importZone } = await import("../../model/traffic/zone-sync.js");
      const result = await userInput(() => importZone(zone, o.from));
      const q = (s: string) => JSON.stringify(s);
      const lines = [
        `# meridian dns import: ${result.records.length} record sets from ${basename(o.from)} (zone ${result.origin})`,
        ...result.notes.map((n) => `# note: ${n}`),
        `# Paste under meridian:dns in stacks/Pulumi.<stack>.yaml, whose apex is ${result.origin.replace(/\.$/, "")}.`,
        "records:",
        ...result.records.map((r) => `  - { name: ${q(r.name)}, type: ${r.type}, ttlSeconds: ${r.ttlSeconds}, values: [${r.values.map(q).join(", ")}] }`),
      ];
      emit(`${lines.join("\n")}\n`, o.out);
    });

  dns
    .command("export")
    .description("write the zone a provider serves for a stack as a master file (SOA and NS are the provider's; the GSLB host is not static data)")
    .requiredOption("-s, --stack <name>", "stack name")
    .option("--provider <name>", "one provider of the stack's hierarchy (default: the primary)")
    .option("--nameservers <list>", "comma-separated NS names for the apex (default: placeholders until the zone exists)")
    .option("--out <file>", "write the zone here instead of stdout")
    .action(async (o: { stack: string; provider?: string; nameservers?: string; out?: string }) => {
      const policy = await stackPolicy(o.stack);
      const [provider] = pickProviders(policy.providers, o.provider ?? policy.providers[0], o.stack);
      const { stackZoneRecords } = await import("../../model/traffic/zone-sync.js");
      const { formatZoneFile } = await import("../../model/traffic/zonefile.js");
      const apex = `${policy.apex}.`;
      const ns = (o.nameservers?.split(",") ?? [`ns1.${provider}.meridian.invalid`, `ns2.${provider}.meridian.invalid`]).map((n) => (n.endsWith(".") ? n : `${n}.`));
      const records = [
        { line: 0, name: apex, ttl: 3600, type: "SOA" as const, rdata: `${ns[0]} hostmaster.${apex} 1 7200 900 1209600 ${policy.ttlSeconds}` },
        ...ns.map((n) => ({ line: 0, name: apex, ttl: 86400, type: "NS" as const, rdata: n })),
        ...stackZoneRecords(policy.records.filter((r) => r.type !== "ALIAS")),
      ];
      // ALIAS is no wire type: the apex answers with its target's addresses, which are not zone data.
      const aliases = policy.records.filter((r) => r.type === "ALIAS").map((r) => `${r.fqdn}. ALIAS ${r.rdata[0]}: answered with the target's A/AAAA (flattened), not zone data`);
      const header = [
        ...aliases,
        `meridian dns export --stack ${o.stack} --provider ${provider}: the static records ${provider} serves for ${policy.apex}`,
        `${policy.fqdn} is answered by the ${policy.mode} GSLB policy (not static data); SOA and NS are the provider's own`,
      ];
      emit(formatZoneFile(apex, records, header), o.out);
    });

  dns
    .command("diff")
    .description("print per provider what `pulumi up` would add (+), change (~) and delete (-) against a zone file; exit 1 when anything would change")
    .requiredOption("-s, --stack <name>", "stack name")
    .requiredOption("--against <file>", "the zone as served today (master file, or octoDNS zone YAML)")
    .option("--origin <name>", "the zone's name when the file has no $ORIGIN or SOA")
    .option("--provider <name>", "only this provider of the stack's hierarchy")
    .action(async (o: { stack: string; against: string; origin?: string; provider?: string }) => {
      const policy = await stackPolicy(o.stack);
      const providers = pickProviders(policy.providers, o.provider, o.stack);
      const zone = await loadZone(o.against, o.origin ?? policy.apex);
      const apex = `${policy.apex}.`;
      if (zone.origin !== apex) throw new UserError(`--against ${o.against}: the zone is ${zone.origin}, but stack ${o.stack}'s apex is ${apex}`);
      const { diffRecords, describeChange, stackZoneRecords } = await import("../../model/traffic/zone-sync.js");
      const { CAPABILITIES } = await import("../../model/traffic/capabilities.js");
      const host = `${policy.fqdn}.`;
      // The apex SOA/NS are each provider's own and the host is the GSLB's: neither is static data.
      const current = zone.records.filter((r) => !(r.name === apex && (r.type === "SOA" || r.type === "NS")) && r.name !== host);
      const desired = stackZoneRecords(policy.records);
      let changed = 0;
      for (const provider of providers) {
        const changes = diffRecords(current, desired);
        changed += changes.length;
        const counts = (["add", "change", "delete"] as const).map((k) => `${changes.filter((c) => c.kind === k).length} ${k}`).join(", ");
        process.stdout.write(`${provider} (${CAPABILITIES[provider].title}) ${policy.apex}: ${changes.length === 0 ? "no changes" : counts}\n`);
        for (const c of changes) process.stdout.write(`${describeChange(c).join("\n")}\n`);
      }
      if (changed > 0) process.exitCode = 1;
    });

  dns
    .command("ds")
    .description("the DS records the registrar puts in the parent zone for a signed stack (meridian:dns.dnssec), from `pulumi stack output --json`")
    .requiredOption("-s, --stack <name>", "stack name")
    .option("--outputs <file>", "the stack's outputs as `pulumi stack output --json` writes them (or just its `traffic` object)")
    .action(async (o: { stack: string; outputs?: string }) => {
      const policy = await stackPolicy(o.stack);
      const { CAPABILITIES } = await import("../../model/traffic/capabilities.js");
      const { parentDsRecords } = await import("../../model/traffic/dnssec.js");
      if (!policy.dnssec) {
        throw new UserError(`stack ${o.stack} does not sign ${policy.apex} (meridian:dns.dnssec.signing is off), so the parent needs no DS record; see docs/dns.md#dnssec`);
      }
      const signers = policy.providers.map((p) => `${p} (${CAPABILITIES[p].title})`).join(", ");
      if (o.outputs === undefined) {
        process.stdout.write(
          [
            `${policy.apex} is signed by ${signers}: ECDSA P-256/SHA-256 (algorithm 13), DS digest type 2 (SHA-256).`,
            "Its DS records exist once `pulumi up` has created the keys; then give the registrar what this prints:",
            `  pulumi stack output --json > outputs.json && meridian dns ds --stack ${o.stack} --outputs outputs.json`,
            "",
          ].join("\n"),
        );
        return;
      }
      const text = readInput(o.outputs);
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (err) {
        throw new UserError(`--outputs ${o.outputs}: not JSON: ${(err as Error).message}`);
      }
      const records = await userInput(() => parentDsRecords(doc, policy.providers, o.outputs!));
      const lines = [`; DS records for ${policy.apex}: give them to the registrar for the parent zone (signed by ${signers})`];
      for (const { provider, rdata } of records) lines.push(`${policy.apex}. 86400 IN DS ${rdata} ; ${provider}`);
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
