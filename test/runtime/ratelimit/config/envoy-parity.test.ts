/**
 * envoyproxy/ratelimit's own config cases (test/config/config_test.go) replayed against its own files
 * (vendored unmodified under test/testdata/envoy-ratelimit): every valid file loads and answers each
 * lookup as asserted there — limit, unit, name, unlimited, shadow mode, stats key, share_threshold
 * patterns, metadata — and every invalid file is refused with envoyproxy/ratelimit's message, naming
 * the file and the key.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compileDomains, type CompiledDomain } from "../../../../runtime/ratelimit/config/compile.js";
import { loadConfig } from "../../../../runtime/ratelimit/config/load.js";
import { matchDescriptor, type Entry } from "../../../../runtime/ratelimit/config/match.js";
import { parseRateLimitConfig } from "../../../../runtime/ratelimit/config/schema.js";

const DATA = fileURLToPath(new URL("../../../testdata/envoy-ratelimit/", import.meta.url));
const file = (p: string) => `${DATA}${p}`;
const load = (...names: string[]) =>
  compileDomains(
    names.flatMap((n) => parseRateLimitConfig(readFileSync(file(`test-config/${n}`), "utf8"), n)),
    names.length > 1,
  );
const e = (...kv: [string, string][]): Entry[] => kv.map(([key, value]) => ({ key, value }));

interface Want {
  rpu?: number;
  unit?: string;
  name?: string;
  unlimited?: boolean;
  shadow?: boolean;
  stats?: string;
}

function expectLimit(domain: CompiledDomain | undefined, entries: Entry[], want: Want | null): void {
  const m = matchDescriptor(domain, entries);
  const ctx = JSON.stringify(entries);
  if (want === null) return void expect(m.rule, ctx).toBeNull();
  expect(m.rule, ctx).not.toBeNull();
  const r = m.rule!;
  if (want.rpu !== undefined) expect(r.requestsPerUnit, ctx).toBe(want.rpu);
  if (want.unit !== undefined) expect(r.unit, ctx).toBe(want.unit);
  if (want.name !== undefined) expect(r.name, ctx).toBe(want.name);
  expect(r.unlimited, ctx).toBe(want.unlimited ?? false);
  expect(r.shadow, ctx).toBe(want.shadow ?? false);
  if (want.stats !== undefined) expect(m.statsKey, ctx).toBe(want.stats);
}

describe("envoyproxy/ratelimit config cases (test/config/config_test.go)", () => {
  it("TestBasicConfig", () => {
    const d = load("basic_config.yaml").get("test-domain");
    expect(matchDescriptor(load("basic_config.yaml").get("foo_domain"), e(["a", "b"])).rule).toBeNull();
    expect(matchDescriptor(d, []).rule).toBeNull();
    expectLimit(d, e(["key1", "something"]), null);
    expectLimit(d, e(["key1", "value1"]), null);
    expectLimit(d, e(["key2", "value2"], ["subkey", "subvalue"]), null);
    expectLimit(d, e(["key5", "value5"], ["subkey5", "subvalue"]), null);
    expectLimit(d, e(["key1", "value1"], ["subkey1", "something"]), { rpu: 5, unit: "second", stats: "test-domain.key1_value1.subkey1" });
    expectLimit(d, e(["key1", "value1"], ["subkey1", "subvalue1"]), { rpu: 10, unit: "second", stats: "test-domain.key1_value1.subkey1_subvalue1" });
    expectLimit(d, e(["key2", "something"]), { rpu: 20, unit: "minute", stats: "test-domain.key2" });
    expectLimit(d, e(["key2", "value2"]), { rpu: 30, unit: "minute", stats: "test-domain.key2_value2" });
    expectLimit(d, e(["key2", "value3"]), null);
    expectLimit(d, e(["key3", "foo"]), { rpu: 1, unit: "hour", name: "", stats: "test-domain.key3" });
    expectLimit(d, e(["key4", "foo"]), { rpu: 1, unit: "day", name: "key4_rate_limit", stats: "test-domain.key4" });
    expectLimit(d, e(["key6", "foo"]), { unlimited: true, stats: "test-domain.key6" });
    expectLimit(d, e(["key7", "unspecified_value"]), { rpu: 70, unit: "minute", stats: "test-domain.key7_unspecified_value" });
    expectLimit(d, e(["key7", "another_value"]), { rpu: 70, stats: "test-domain.key7_another_value" });
  });

  it("TestDomainMerge (with merging on) and TestDuplicateKeyDomainMerge", () => {
    const d = load("merge_domain_key1.yaml", "merge_domain_key2.yaml").get("test-domain");
    expectLimit(d, e(["key1", "value1"]), { rpu: 10 });
    expectLimit(d, e(["key2", "value2"]), { rpu: 20 });
    expect(() => load("merge_domain_key1.yaml", "merge_domain_key1.yaml")).toThrow("merge_domain_key1.yaml: duplicate descriptor composite key 'test-domain.key1_value1'");
  });

  it("TestConfigLimitOverride: an override applies to any descriptor of a known domain, under the descriptor's own key", () => {
    const d = load("basic_config.yaml");
    expect(matchDescriptor(d.get("foo_domain"), e(["a", "b"]), { requestsPerUnit: 10, unit: "day" }).rule).toBeNull();
    const m = matchDescriptor(d.get("test-domain"), e(["key1", "value1"], ["subkey1", "something"]), { requestsPerUnit: 10, unit: "day" });
    expect(m.rule).toMatchObject({ requestsPerUnit: 10, unit: "day", shadow: false, name: "" });
    expect(m.statsKey).toBe("test-domain.key1_value1.subkey1_something");
    expect(matchDescriptor(d.get("test-domain"), e(["key1", "value1"], ["subkey1", "something_else"]), { requestsPerUnit: 42, unit: "hour" }).statsKey).toBe(
      "test-domain.key1_value1.subkey1_something_else",
    );
  });

  it("refuses every invalid file with envoyproxy/ratelimit's message, naming the file and the key", () => {
    const refused: [string[], string][] = [
      [["empty_domain.yaml"], "empty_domain.yaml: domain: config file cannot have empty domain"],
      [["basic_config.yaml", "duplicate_domain.yaml"], "duplicate_domain.yaml: duplicate domain 'test-domain' in config file"],
      [["empty_key.yaml"], "empty_key.yaml: descriptors[0]: descriptor has empty key"],
      [["duplicate_key.yaml"], "duplicate_key.yaml: duplicate descriptor composite key 'test-domain.key1_value1'"],
      [["bad_limit_unit.yaml"], "bad_limit_unit.yaml: descriptors[0].rate_limit.unit: invalid rate limit unit 'foo'"],
      [["replaces_self.yaml"], "replaces_self.yaml: descriptors[0].descriptors[0].rate_limit.replaces[0]: replaces should not contain name of same descriptor"],
      [["replaces_empty.yaml"], "replaces_empty.yaml: descriptors[0].descriptors[0].rate_limit.replaces[0]: should not have an empty replaces entry"],
      [["bad_yaml.yaml"], "bad_yaml.yaml: error loading config file:"],
      [["misspelled_key.yaml"], "misspelled_key.yaml: descriptors[0].ratelimit: config error, unknown key 'ratelimit'"],
      [["misspelled_key2.yaml"], "misspelled_key2.yaml: descriptors[0].rate_limit.requestsperunit: config error, unknown key 'requestsperunit'"],
      [["non_string_key.yaml"], "non_string_key.yaml: (document): config error, key is not of type string: 0.25"],
      [["non_map_list.yaml"], "non_map_list.yaml: descriptors[0]: config error, yaml file contains list of type other than map: a"],
      [["unlimited_with_unit.yaml"], "unlimited_with_unit.yaml: descriptors[0].rate_limit.unit: should not specify rate limit unit when unlimited"],
    ];
    for (const [names, message] of refused)
      expect(() => (names.length > 1 ? compileDomains(names.flatMap((n) => parseRateLimitConfig(readFileSync(file(`test-config/${n}`), "utf8"), n))) : load(...names)), names.join("+")).toThrow(
        message,
      );
  });

  it("TestShadowModeConfig", () => {
    const d = load("shadowmode_config.yaml").get("test-domain");
    expectLimit(d, e(["key1", "value1"], ["subkey1", "something"]), { rpu: 5, shadow: false, stats: "test-domain.key1_value1.subkey1" });
    expectLimit(d, e(["key1", "value1"], ["subkey1", "subvalue1"]), { rpu: 10, shadow: true, stats: "test-domain.key1_value1.subkey1_subvalue1" });
    expectLimit(d, e(["key2", "something"]), { rpu: 20, unit: "minute", shadow: true, stats: "test-domain.key2" });
    expectLimit(d, e(["key2", "value2"]), { rpu: 30, shadow: false, stats: "test-domain.key2_value2" });
  });

  it("TestWildcardConfig: wildcards anywhere, any number of them", () => {
    const d = load("wildcard.yaml").get("test-domain");
    expectLimit(d, e(["noVal", "foo1"]), { stats: "test-domain.noVal" });
    expectLimit(d, e(["wild", "foo1"]), { rpu: 20, stats: "test-domain.wild_foo*" });
    expectLimit(d, e(["wild", "foo2"]), { rpu: 20, stats: "test-domain.wild_foo*" });
    expectLimit(d, e(["nestedWild", "val1"], ["wild", "goo2"]), { stats: "test-domain.nestedWild_val1.wild_goo*" });
    expectLimit(d, e(["wild", "bar"]), null);
    expectLimit(d, e(["noWild", "foo1"]), null);
    for (const v of ["barab", "bar123b", "barb"]) expectLimit(d, e(["midWild", v]), { rpu: 20, stats: "test-domain.midWild_bar*b" });
    for (const v of ["bara", "xbarb"]) expectLimit(d, e(["midWild", v]), null);
    for (const v of ["foo123bar456baz", "foobarbaz"]) expectLimit(d, e(["multiWild", v]), { rpu: 10, stats: "test-domain.multiWild_foo*bar*baz" });
    for (const v of ["foo123baz", "bar456baz"]) expectLimit(d, e(["multiWild", v]), null);
  });

  it("TestShareThreshold: matching values share one counter and report under the pattern", () => {
    const d = load("share_threshold.yaml").get("test-domain");
    const counters = (entries: Entry[]) =>
      matchDescriptor(d, entries)
        .counterEntries.map((x) => x.value)
        .join("|");
    for (const v of ["files/a.txt", "files/b.csv", "files/c/d"]) {
      expectLimit(d, e(["files", v]), { rpu: 100, stats: "test-domain.files_files/*" });
      expect(counters(e(["files", v]))).toBe("files/*");
    }
    expectLimit(d, e(["route", "api/v1"], ["method", "GET"]), { rpu: 60, stats: "test-domain.route_api/*.method" });
    expectLimit(d, e(["service", "svc/user"], ["endpoint", "get"]), { rpu: 80, stats: "test-domain.service_svc/*.endpoint_get" });
    expectLimit(d, e(["nested", "parent"], ["files", "nested/file1.txt"]), { rpu: 200, stats: "test-domain.nested_parent.files_nested/*" });
    expectLimit(d, e(["files", "top/file1.txt"], ["files", "nested/file1.txt"]), { rpu: 300, stats: "test-domain.files_top/*.files_nested/*" });
    expect(counters(e(["files", "top/file1.txt"], ["files", "nested/file1.txt"]))).toBe("top/*|nested/*");
    expectLimit(d, e(["path", "path/foo"], ["file", "file/doc1"], ["type", "pdf"]), { rpu: 120, stats: "test-domain.path_path/*.file_file/*.type" });
    expect(counters(e(["path", "path/foo"], ["file", "file/doc1"], ["type", "pdf"]))).toBe("path/*|file/doc1|pdf");
    expectLimit(d, e(["user", "user/alice"], ["resource", "res/file1"], ["action", "read"]), { rpu: 150, stats: "test-domain.user_user/*.resource_res/*.action" });
    expectLimit(d, e(["file", "test1"]), { rpu: 50, stats: "test-domain.file_test1" });
    for (const v of ["test2", "test3", "testABC"]) expectLimit(d, e(["file", v]), { rpu: 100, stats: "test-domain.file_test*" });
    for (const v of ["/api/v1", "/api-beta-v1"]) expectLimit(d, e(["midpath", v]), { rpu: 100, stats: "test-domain.midpath_/api*v1" });
    expectLimit(d, e(["midpath", "/api/v2"]), null);
    for (const v of ["svc1ep2rpc", "svcABCepXYZrpc"]) expectLimit(d, e(["multiroute", v]), { rpu: 50, stats: "test-domain.multiroute_svc*ep*rpc" });
    expectLimit(d, e(["multiroute", "svcABCrpc"]), null);
    for (const v of ["/api/v2", "/api-beta-v2"]) expectLimit(d, e(["midroute", v]), { stats: "test-domain.midroute_/api*v2" });
    for (const [t, r] of [
      ["t1prod", "resAv2"],
      ["t99prod", "resBBBv2"],
    ])
      expectLimit(d, e(["tenant", t!], ["resource", r!]), { rpu: 60, stats: "test-domain.tenant_t*prod.resource_res*v2" });
  });

  it("TestMetadata", () => {
    const d = load("metadata.yaml").get("test-domain");
    expect(matchDescriptor(d, e(["key1", "value1"], ["subkey1", "something"])).rule?.metadata).toEqual({ name: "service_1" });
    expect(matchDescriptor(d, e(["key2", "something"])).rule?.metadata).toEqual({ service_with_quota: { name: "service_2" } });
  });

  it("TestDetailedMetric, TestValueToMetric and TestWildcardStatsBehavior: stats keys", () => {
    const dom = (yaml: string) => compileDomains(parseRateLimitConfig(yaml, "inline.yaml")).values().next().value!;
    const nested = (detailed1: boolean, detailed2: boolean) =>
      dom(`domain: nested
descriptors:
  - key: key-1
    detailed_metric: ${detailed1}
    rate_limit: { requests_per_unit: 100, unit: minute }
    descriptors:
      - key: key-2
        detailed_metric: ${detailed2}
        rate_limit: { requests_per_unit: 5, unit: minute }
`);
    expectLimit(nested(true, false), e(["key-1", "value-1"]), { stats: "nested.key-1_value-1" });
    expectLimit(nested(false, false), e(["key-1", "value-1"]), { stats: "nested.key-1" });
    expectLimit(nested(true, true), e(["key-1", "value-1"], ["key-2", "value-2"]), { stats: "nested.key-1_value-1.key-2_value-2" });
    expectLimit(nested(false, false), e(["key-1", "value-1"], ["key-2", "value-2"]), { stats: "nested.key-1.key-2" });
    const v2m = dom(`domain: domain
descriptors:
  - key: route
    value_to_metric: true
    descriptors:
      - key: http_method
        value_to_metric: true
        descriptors:
          - key: subject_id
            rate_limit: { requests_per_unit: 60, unit: minute }
`);
    expectLimit(v2m, e(["route", "draw"], ["http_method", "GET"], ["subject_id", "123"]), { stats: "domain.route_draw.http_method_GET.subject_id" });
    const wild = (flags: string) =>
      dom(`domain: test-domain
descriptors:
  - key: wild
    value: foo*
    ${flags}
    rate_limit: { requests_per_unit: 20, unit: minute }
`);
    expectLimit(wild(""), e(["wild", "foo1"]), { stats: "test-domain.wild_foo*" });
    expectLimit(wild("value_to_metric: true"), e(["wild", "foo1"]), { stats: "test-domain.wild_foo1" });
    expectLimit(wild("share_threshold: true"), e(["wild", "foo1"]), { stats: "test-domain.wild_foo*" });
    expectLimit(wild("share_threshold: true\n    value_to_metric: true"), e(["wild", "foo1"]), { stats: "test-domain.wild_foo*" });
  });
});

describe("every vendored envoyproxy/ratelimit config that its tests load as valid", () => {
  const valid = [
    ...["basic_config.yaml", "merge_domain_key1.yaml", "merge_domain_key2.yaml", "metadata.yaml", "shadowmode_config.yaml", "share_threshold.yaml", "wildcard.yaml"].map((f) => `test-config/${f}`),
    ...readdirSync(file("examples")).map((f) => `examples/${f}`),
    ...readdirSync(file("integration")).map((f) => `integration/${f}`),
  ];
  it.each(valid)("%s loads", (name) => {
    expect(loadConfig(file(name)).domains.size).toBeGreaterThan(0);
  });
  it("the integration config directory loads with its domains merged across files", () => {
    // Its runtime directory holds basic.yaml, another.yaml and share_threshold.yaml side by side.
    expect([...loadConfig(file("integration")).domains.keys()].sort()).toEqual(["another", "basic", "reload", "share-threshold-test"]);
  });
});
