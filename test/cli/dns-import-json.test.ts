/**
 * `meridian dns import --from <provider export JSON>`: Route 53's list-resource-record-sets and Cloud DNS's
 * record-sets list of the vendored zone import to the same stack records as its master file, and import →
 * stack → export gives back the export's record sets; an apex alias is an ALIAS, other aliases and routed
 * records are refused by name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { REPO_ROOT } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { stackFile } from "../../stacks/load.js";
import { parseZoneFile, type ZoneFileRecord } from "../../model/traffic/zonefile.js";
import { providerExportZone } from "../../model/traffic/provider-export.js";
import { recordSet } from "../../model/traffic/zone-sync.js";

const DATA = join(REPO_ROOT, "test/testdata/dns");
const ZONE = join(DATA, "shop.example.net.zone");
const ROUTE53 = join(DATA, "shop.example.net.route53.json");
const CLOUDDNS = join(DATA, "shop.example.net.clouddns.json");
const dir = mkdtempSync(join(tmpdir(), "meridian-dns-json-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const served = (records: ZoneFileRecord[], origin: string) => recordSet(records.filter((r) => !(r.name === origin && (r.type === "SOA" || r.type === "NS"))));

async function importFrom(file: string): Promise<string> {
  const r = await runCliInProcess(["dns", "import", "--from", file]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}
const recordsOf = (fragment: string) => (parse(fragment) as { records: unknown[] }).records;

describe("meridian dns import --from a provider export", () => {
  let fromZone: unknown[];
  beforeAll(async () => {
    fromZone = recordsOf(await importFrom(ZONE));
  });

  it.each([
    ["Route 53 list-resource-record-sets", ROUTE53],
    ["Cloud DNS record-sets list", CLOUDDNS],
  ])(
    "%s imports to the master file's records, and exports back the same record sets",
    async (_, file) => {
      const fragment = await importFrom(file);
      expect(recordsOf(fragment)).toEqual(fromZone);
      // import → stack → export: the export serves exactly the provider export's record sets.
      const stacks = mkdtempSync(join(dir, "stacks-"));
      const doc = parse(readFileSync(stackFile("prod"), "utf8")) as { config: Record<string, Record<string, unknown>> };
      Object.assign(doc.config["meridian:dns"]!, { apex: "shop.example.net", records: recordsOf(fragment) });
      (doc.config["meridian:dns"]!["providers"] as Record<string, unknown>)["standbys"] = [];
      mkdirSync(stacks, { recursive: true });
      writeFileSync(join(stacks, "Pulumi.prod.yaml"), stringify(doc));
      const out = join(stacks, "export.zone");
      const r = await runCliInProcess(["dns", "export", "--stack", "prod", "--provider", "route53", "--out", out], { env: { MERIDIAN_STACKS_DIR: stacks } });
      expect(r.status, r.stderr).toBe(0);
      const exported = parseZoneFile(readFileSync(out, "utf8"), { origin: "shop.example.net" });
      const input = providerExportZone(JSON.parse(readFileSync(file, "utf8")), undefined, file);
      expect(served(exported.records, exported.origin)).toEqual(served(input.records, input.origin));
      expect(served(input.records, input.origin)).toHaveLength(served(parseZoneFile(readFileSync(ZONE, "utf8"), {}).records, "shop.example.net.").length);
    },
    60_000,
  );

  it("Route 53's octal escapes in names are read (\\052 is the wildcard)", async () => {
    const zone = providerExportZone(
      {
        ResourceRecordSets: [
          { Name: "shop.example.net.", Type: "SOA", TTL: 900, ResourceRecords: [{ Value: "ns-1.awsdns-1.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400" }] },
          { Name: "\\052.shop.example.net.", Type: "TXT", TTL: 300, ResourceRecords: [{ Value: '"wild"' }] },
        ],
      },
      undefined,
      "r53.json",
    );
    expect(zone.origin).toBe("shop.example.net.");
    expect(zone.records[1]).toMatchObject({ name: "*.shop.example.net.", type: "TXT", rdata: '"wild"' });
  });

  it("an apex alias to a zone record imports as ALIAS; another alias or a routed record is refused naming it (exit 2); so is a file that is neither export", async () => {
    const file = join(dir, "alias.json");
    const soa = { Name: "shop.example.net.", Type: "SOA", TTL: 900, ResourceRecords: [{ Value: "ns-1.awsdns-1.com. h.example. 1 7200 900 1209600 86400" }] };
    writeFileSync(
      file,
      JSON.stringify({
        ResourceRecordSets: [
          soa,
          { Name: "www.shop.example.net.", Type: "A", AliasTarget: { HostedZoneId: "Z2FDTNDATAQYW2", DNSName: "d111111abcdef8.cloudfront.net.", EvaluateTargetHealth: false } },
        ],
      }),
    );
    const r = await runCliInProcess(["dns", "import", "--from", file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `meridian: ${file}: ResourceRecordSets[1] www.shop.example.net. A: a Route 53 alias to d111111abcdef8.cloudfront.net. has no stack form (a stack aliases only at the apex, to an A/AAAA record set of the zone)\n`,
    );
    // An apex alias (A and AAAA) to an address record set of the zone is the stack's ALIAS.
    const apexAlias = (Type: string) => ({ Name: "shop.example.net.", Type, AliasTarget: { HostedZoneId: "Z1", DNSName: "origin.shop.example.net.", EvaluateTargetHealth: false } });
    const origin = { Name: "origin.shop.example.net.", Type: "A", TTL: 300, ResourceRecords: [{ Value: "192.0.2.10" }] };
    writeFileSync(file, JSON.stringify({ ResourceRecordSets: [soa, apexAlias("A"), apexAlias("AAAA"), origin] }));
    const ok = await runCliInProcess(["dns", "import", "--from", file]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('  - { name: "@", type: ALIAS, ttlSeconds: 3600, values: ["origin.shop.example.net"] }');
    writeFileSync(
      file,
      JSON.stringify({ ResourceRecordSets: [soa, { Name: "api.shop.example.net.", Type: "A", TTL: 60, SetIdentifier: "eu", Weight: 10, ResourceRecords: [{ Value: "192.0.2.1" }] }] }),
    );
    expect((await runCliInProcess(["dns", "import", "--from", file])).stderr).toContain("ResourceRecordSets[1] api.shop.example.net. A: a routed record (SetIdentifier, Weight) is not static data");
    writeFileSync(file, JSON.stringify({ records: [] }));
    expect((await runCliInProcess(["dns", "import", "--from", file])).stderr).toContain("not a provider export");
  }, 60_000);
});
