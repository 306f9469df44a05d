// The chart image catalogue (model/images/charts.ts) against the vendored chart checks, and the stack setting
// that supplies the digests: every digest lands on a key the pinned chart reads (schema or derived keys), a
// stack outside `local` that leaves an image without a digest is refused when it loads, naming the command that
// prints the digest, and `local` may leave them out (the charts' defaults, by tag, as on a laptop).
import { describe, expect, it } from "vitest";
import { CHARTS } from "../../../components/pki/charts.js";
import {
  CHART_IMAGES,
  PSQL_IMAGE,
  VENDORED_DIGESTS,
  chartImageValues,
  knownImageReferences,
  mergeValues,
  pinnedImage,
  requiredImageDigests,
  tagReferencedImages,
} from "../../../model/images/charts.js";
import { StackConfigError } from "../../../model/config/errors.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { pinnedChart } from "../../components/pki/pinned-charts.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const every = Object.fromEntries(requiredImageDigests().map((r) => [r, digest("e")]));

describe("chart image catalogue", () => {
  it("covers exactly the charts components/pki/charts.ts pins", () => {
    expect(Object.keys(CHART_IMAGES).sort()).toEqual(
      Object.values(CHARTS)
        .map((c) => `${c.chart}@${c.version}`)
        .sort(),
    );
  });

  it("every image's digest goes to a value the pinned chart accepts (its schema or the keys its templates read)", () => {
    for (const c of Object.values(CHARTS)) {
      const values = chartImageValues(c.chart, c.version, every);
      expect(pinnedChart(c.repo, c.chart, c.version)!.problems(values), `${c.chart} ${c.version}`).toEqual([]);
      expect(tagReferencedImages(c.chart, c.version, values), `${c.chart} ${c.version}`).toEqual([]);
    }
  });

  it("renders each chart's own digest form; vendored digests apply unless the stack names another", () => {
    expect(chartImageValues("cert-manager", "v1.19.1", {})).toEqual({
      image: { digest: VENDORED_DIGESTS["quay.io/jetstack/cert-manager-controller:v1.19.1"]!.digest },
      webhook: { image: { digest: VENDORED_DIGESTS["quay.io/jetstack/cert-manager-webhook:v1.19.1"]!.digest } },
      cainjector: { image: { digest: VENDORED_DIGESTS["quay.io/jetstack/cert-manager-cainjector:v1.19.1"]!.digest } },
    });
    expect(chartImageValues("cert-manager", "v1.19.1", { "quay.io/jetstack/cert-manager-controller:v1.19.1": digest("1") })).toMatchObject({ image: { digest: digest("1") } });
    expect(chartImageValues("spire", "0.27.0", every)).toMatchObject({ "spire-server": { image: { tag: digest("e") } }, global: { spire: { tools: { kubectl: { tag: digest("e") } } } } });
    expect(chartImageValues("istiod", "1.28.0", every)).toEqual({
      image: `docker.io/istio/pilot@${digest("e")}`,
      global: { proxy: { image: `docker.io/istio/proxyv2@${digest("e")}` }, proxy_init: { image: `docker.io/istio/proxyv2@${digest("e")}` } },
    });
    expect(pinnedImage(PSQL_IMAGE, every)).toBe(`docker.io/library/postgres@${digest("e")}`);
    expect(pinnedImage(PSQL_IMAGE, {})).toBe(PSQL_IMAGE);
    expect(() => chartImageValues("ingress-nginx", "4.11.0", {})).toThrow(/no image catalogue for chart ingress-nginx 4\.11\.0/);
  });

  it("keeps SPIRE's OIDC discovery provider off: its images are not catalogued, so values that turn it on are refused", () => {
    const values = chartImageValues("spire", "0.27.0", every);
    expect(values["spiffe-oidc-discovery-provider"]).toEqual({ enabled: false });
    const refused = ["spiffe-oidc-discovery-provider.enabled is not false: that part of the chart runs images the catalogue does not pin (set it to false)"];
    expect(tagReferencedImages("spire", "0.27.0", mergeValues(values, { "spiffe-oidc-discovery-provider": { enabled: true } }))).toEqual(refused);
    // Left out, the chart's default (on) applies.
    expect(tagReferencedImages("spire", "0.27.0", { ...values, "spiffe-oidc-discovery-provider": {} })).toEqual(refused);
    expect([...knownImageReferences()].filter((r) => /oidc-discovery-provider|spiffe-helper|nginx/.test(r))).toEqual([]);
  });

  it("vendors a digest only with two sources, and never one the stack must supply", () => {
    for (const [reference, v] of Object.entries(VENDORED_DIGESTS)) {
      expect(v.sources.length, reference).toBeGreaterThanOrEqual(2);
      expect(knownImageReferences().has(reference), reference).toBe(true);
      expect(requiredImageDigests()).not.toContain(reference);
    }
  });
});

describe("meridian:imageDigests", () => {
  const prod = () => readStackConfigMap("prod");
  const load = (map: Record<string, unknown>) => parseEstateConfig(map, "Pulumi.prod.yaml");

  it("the shipped prod stack names every required image (as placeholders until looked up)", () => {
    expect(Object.keys(load(prod()).imageDigests).sort()).toEqual(requiredImageDigests());
  });

  it("outside local, an image left without a digest is refused at load, naming the key and `crane digest`", () => {
    const map = prod();
    const digests = { ...(map["meridian:imageDigests"] as Record<string, string>) };
    delete digests["ghcr.io/spiffe/spire-server:1.13.0"];
    let err: unknown;
    try {
      load({ ...map, "meridian:imageDigests": digests });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StackConfigError);
    expect((err as Error).message).toContain('meridian:imageDigests["ghcr.io/spiffe/spire-server:1.13.0"]');
    expect((err as Error).message).toContain("crane digest ghcr.io/spiffe/spire-server:1.13.0");
  });

  it("refuses a key no pinned chart runs, and a value that is not a sha256 digest", () => {
    const map = prod();
    const digests = map["meridian:imageDigests"] as Record<string, string>;
    expect(() => load({ ...map, "meridian:imageDigests": { ...digests, "ghcr.io/spiffe/spire-server:1.12.0": digest("a") } })).toThrow(
      /imageDigests\["ghcr\.io\/spiffe\/spire-server:1\.12\.0"\][\s\S]*one of the images the pinned charts run/,
    );
    expect(() => load({ ...map, "meridian:imageDigests": { ...digests, "ghcr.io/spiffe/spire-server:1.13.0": "latest" } })).toThrow(/expected sha256:<64 hex digits>/);
  });

  it("local may leave them all out", () => {
    expect(parseEstateConfig(readStackConfigMap("local"), "Pulumi.local.yaml").imageDigests).toEqual({});
  });
});
