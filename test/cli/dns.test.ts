/**
 * `meridian dns import|export|diff` on a zone with every record type a stack serves: import → stack →
 * export gives the same record sets on every provider, BIND's named-checkzone loads the exports, diff names
 * a changed TTL and a removed record, a provider that cannot serve a type is refused, bad input names its line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { REPO_ROOT } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { stackFile } from "../../stacks/load.js";
import { parseZoneFile } from "../../model/traffic/zonefile.js";
import { recordSet } from "../../model/traffic/zone-sync.js";

const ZONE = join(REPO_ROOT, "test/testdata/dns/shop.example.net.zone");
const OCTODNS = join(REPO_ROOT, "test/testdata/dns/shop.example.net.yaml");
const dir = mkdtempSync(join(tmpdir(), "meridian-dns-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The zone's records as a set, less the apex SOA and NS (each provider's own). */
function servedSet(text: string): string[] {
  const zone = parseZoneFile(text, { origin: "shop.example.net" });
  return recordSet(zone.records.filter((r) => !(r.name === zone.origin && (r.type === "SOA" || r.type === "NS"))));
}

/** A scratch stacks dir: prod with the zone's apex and the imported records, Azure DNS kept or not. */
function stackWith(fragment: string, options: { azure: boolean }): string {
  const stacks = mkdtempSync(join(dir, "stacks-"));
  const doc = parse(readFileSync(stackFile("prod"), "utf8")) as { config: Record<string, Record<string, unknown>> };
  const dns = doc.config["meridian:dns"]!;
  dns["apex"] = "shop.example.net";
  dns["records"] = (parse(fragment) as { records: unknown[] }).records;
  if (!options.azure) (dns["providers"] as Record<string, unknown>)["standbys"] = [];
  mkdirSync(stacks, { recursive: true });
  writeFileSync(join(stacks, "Pulumi.prod.yaml"), stringify(doc));
  return stacks;
}

async function importZone(file: string): Promise<string> {
  const r = await runCliInProcess(["dns", "import", "--from", file]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe("meridian dns import / export", () => {
  let fragment: string;
  beforeAll(async () => {
    fragment = await importZone(ZONE);
  });

  it("imports every record set, and the export of every provider serves the same record sets", async () => {
    expect(fragment).toMatch(/^# meridian dns import: 21 record sets from shop\.example\.net\.zone \(zone shop\.example\.net\.\)/);
    for (const type of ["SRV", "NS", "PTR", "TLSA", "SSHFP", "HTTPS", "SVCB", "DS", "CAA", "MX", "TXT"]) expect(fragment).toContain(`type: ${type},`);
    const stacks = stackWith(fragment, { azure: false });
    const original = servedSet(readFileSync(ZONE, "utf8"));
    for (const provider of ["route53", "clouddns", "cloudflare"]) {
      const out = join(dir, `export-${provider}.zone`);
      const r = await runCliInProcess(["dns", "export", "--stack", "prod", "--provider", provider, "--out", out], { env: { MERIDIAN_STACKS_DIR: stacks } });
      expect(r.status, r.stderr).toBe(0);
      expect(servedSet(readFileSync(out, "utf8"))).toEqual(original);
      // BIND loads the export as the zone it claims to be (exit 0, "OK").
      expect(execFileSync("named-checkzone", ["shop.example.net", out], { encoding: "utf8" })).toMatch(/OK\n$/);
    }
  }, 120_000);

  it("an octoDNS zone imports to the same records as the master file", async () => {
    const records = (text: string) => (parse(text) as { records: unknown[] }).records.map((r) => JSON.stringify(r)).sort();
    // The DKIM key is one string in octoDNS (it splits at 255 itself), two in the master file.
    const dkim = (r: string) => r.replace('"\\"v=DKIM1; k=rsa; \\" \\"p=', '"v=DKIM1; k=rsa; p=').replace('2SnFC\\""', '2SnFC"');
    expect(records(await importZone(OCTODNS))).toEqual(records(fragment).map(dkim));
  }, 60_000);

  it("refuses a provider that cannot serve a type, naming provider, record and type", async () => {
    const stacks = stackWith(fragment, { azure: true });
    const r = await runCliInProcess(["dns", "export", "--stack", "prod"], { env: { MERIDIAN_STACKS_DIR: stacks } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('trafficmanager (providers.standbys.0) cannot serve SSHFP records, so record "mail" SSHFP cannot be in this hierarchy');
    expect(r.stderr).toMatch(/cannot serve HTTPS records, so record "@" HTTPS/);
    expect(r.stderr).toMatch(/cannot serve SVCB records, so record "_api\._svc" SVCB/);
  }, 60_000);

  it("a malformed zone file is refused naming the line", async () => {
    const bad = join(dir, "bad.zone");
    writeFileSync(bad, ["$ORIGIN shop.example.net.", "$TTL 300", "www IN A 192.0.2.1", "@ IN MX mail", ""].join("\n"));
    const r = await runCliInProcess(["dns", "import", "--from", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${bad}:4: MX data "mail": 1 field(s); expected "<preference> <exchange>"`);
    writeFileSync(bad, ["$ORIGIN shop.example.net.", "$TTL 300", '@ IN NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:info@example.net!" .', ""].join("\n"));
    expect((await runCliInProcess(["dns", "import", "--from", bad])).stderr).toContain(`${bad}:3: record type NAPTR is not supported`);
    writeFileSync(bad, ["$ORIGIN shop.example.net.", "$TTL 300", '@ IN TXT ( "unclosed"', ""].join("\n"));
    expect((await runCliInProcess(["dns", "import", "--from", bad])).stderr).toContain(`${bad}:3: '(' is never closed`);
    const octodns = join(dir, "shop.example.net.yaml");
    writeFileSync(octodns, "_sip._tcp:\n  type: SRV\n  value: { priority: 10, weight: 60, target: sip.shop.example.net. }\n");
    const r2 = await runCliInProcess(["dns", "import", "--from", octodns]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toBe(`meridian: ${octodns}: '_sip._tcp': SRV value needs port\n`);
  }, 60_000);
});

describe("meridian dns diff", () => {
  let stacks: string;
  beforeAll(async () => {
    stacks = stackWith(await importZone(ZONE), { azure: false });
  });
  const diff = (against: string) => runCliInProcess(["dns", "diff", "--stack", "prod", "--against", against], { env: { MERIDIAN_STACKS_DIR: stacks } });

  it("no changes against the zone the stack was imported from: exit 0", async () => {
    const r = await diff(ZONE);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "route53 (Amazon Route 53) shop.example.net: no changes",
      "clouddns (Google Cloud DNS) shop.example.net: no changes",
      "cloudflare (Cloudflare Load Balancing) shop.example.net: no changes",
    ]);
  }, 60_000);

  it("shows a changed TTL and a removed record per provider: exit 1", async () => {
    const live = join(dir, "live.zone");
    const text = readFileSync(ZONE, "utf8").replace("www 300 IN  CNAME", "www 3600 IN CNAME") + "old     IN  A       192.0.2.99\n";
    writeFileSync(live, text);
    const r = await diff(live);
    expect(r.status, r.stderr).toBe(1);
    const expected = ["shop.example.net: 0 add, 1 change, 1 delete", "  - old.shop.example.net. 3600 A 192.0.2.99", "  ~ www.shop.example.net. CNAME ttl 3600 -> 300"];
    for (const provider of ["route53", "clouddns", "cloudflare"]) {
      const block = r.stdout.split(/\n(?=\S)/).find((b) => b.startsWith(`${provider} `))!;
      expect(
        block
          .split("\n")
          .slice(0, 3)
          .map((l) => l.replace(/^\S+ \([^)]*\) /, "")),
      ).toEqual(expected);
    }
  }, 60_000);
});

describe("named-checkzone agrees with the vendored zone", () => {
  it("the test zone itself loads in BIND", async () => {
    const r = spawnSync("named-checkzone", ["shop.example.net", ZONE], { encoding: "utf8" });
    expect(r.status, r.stdout).toBe(0);
  });
});
