/** The master-file reader and writer (model/traffic/zonefile.ts): RFC 1035 §5 syntax, errors naming lines, round trips. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { formatZoneFile, parseZoneFile, type ZoneFileRecord } from "../../../model/traffic/zonefile.js";
import { recordSet } from "../../../model/traffic/zone-sync.js";

const rows = (text: string, origin?: string) => parseZoneFile(text, { ...(origin ? { origin } : {}), source: "z" }).records.map((r) => `${r.line} ${r.name} ${r.ttl} ${r.type} ${r.rdata}`);

describe("parseZoneFile", () => {
  it("reads $ORIGIN, $TTL, @, relative names, a blank owner, TTL/class in either order and TTL units", () => {
    const text = ["$TTL 1h", "@ IN A 192.0.2.1", "  300 IN AAAA 2001:DB8::1", "www IN 2m CNAME @", "$ORIGIN sub.example.org.", "a 1d A 192.0.2.2", ""].join("\n");
    expect(rows(text, "example.org")).toEqual([
      "2 example.org. 3600 A 192.0.2.1",
      "3 example.org. 300 AAAA 2001:db8::1",
      "4 www.example.org. 120 CNAME example.org.",
      "6 a.sub.example.org. 86400 A 192.0.2.2",
    ]);
  });

  it("joins ( … ) over lines, drops comments but not a ';' inside quotes, keeps TXT strings apart", () => {
    const text = ["$ORIGIN example.org.", "$TTL 60", 'txt TXT ( "a; b" ; comment', '  "c\\"d" )', "ds DS 1 13 2 ( AB cd ; split digest", "  EF )", ""].join("\n");
    expect(rows(text)).toEqual(['3 txt.example.org. 60 TXT "a; b" "c\\"d"', "5 ds.example.org. 60 DS 1 13 2 abcdef"]);
  });

  it("names the line of every mistake", () => {
    const bad = (lines: string[]) => () => parseZoneFile(["$ORIGIN example.org.", "$TTL 60", ...lines].join("\n"), { source: "z" });
    expect(bad(["$INCLUDE other.zone"])).toThrow(/^z:3: \$INCLUDE: unsupported directive/);
    expect(bad(["@ CH A 192.0.2.1"])).toThrow("z:3: class CH: only IN is served");
    expect(bad(["@ A 192.0.2.1", "x A 300.0.0.1"])).toThrow('z:4: A data "300.0.0.1": not an IPv4 address');
    expect(bad(["srv SRV 1 2 sip"])).toThrow(/^z:3: SRV data "1 2 sip": 3 field\(s\)/);
    expect(bad(['@ TXT "open'])).toThrow("z:3: unterminated quoted string");
    expect(bad(["a A 192.0.2.1 )"])).toThrow("z:3: ')' without a matching '('");
    expect(() => parseZoneFile("www A 192.0.2.1\n", { source: "z" })).toThrow('z:1: relative name "www" with no $ORIGIN');
    expect(() => parseZoneFile("$ORIGIN example.org.\nwww A 192.0.2.1\n", { source: "z" })).toThrow("z:2: no TTL");
  });
});

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}[a-z0-9]$/);
const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
const record: fc.Arbitrary<ZoneFileRecord> = fc
  .tuple(
    fc.array(label, { maxLength: 2 }),
    fc.integer({ min: 1, max: 86400 }),
    fc.oneof(
      fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => ["A", `192.0.${a}.${b}`] as const),
      fc.tuple(fc.nat(100), label).map(([p, l]) => ["MX", `${p} ${l}.example.org.`] as const),
      fc.stringMatching(/^[ -!#-[\]-~]{0,40}$/).map((s) => ["TXT", `"${s}"`] as const),
      fc.tuple(fc.nat(65535), fc.nat(65535), fc.nat(65535), label).map(([p, w, port, l]) => ["SRV", `${p} ${w} ${port} ${l}.example.org.`] as const),
      hex.map((h) => ["TLSA", `3 1 1 ${h}`] as const),
      hex.map((h) => ["DS", `12345 13 2 ${h}`] as const),
      label.map((l) => ["HTTPS", `1 ${l}.example.org. alpn=h2`] as const),
    ),
  )
  .map(([labels, ttl, [type, rdata]]) => ({ line: 0, name: [...labels, "example.org."].join("."), ttl, type, rdata }));

describe("formatZoneFile", () => {
  it("what it writes reads back as the same record set (property)", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (records) => {
        const back = parseZoneFile(formatZoneFile("example.org.", records), { source: "z" });
        expect(recordSet(back.records)).toEqual(recordSet(records));
      }),
    );
  });
});
