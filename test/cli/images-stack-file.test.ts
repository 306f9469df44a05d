// The pure parts of `meridian images resolve`: the WWW-Authenticate challenges registries send (the strings
// below are the challenges Docker Hub, GHCR and Quay answer an anonymous manifest request with, in their
// documented form; the live flow is tested against Distribution in images-resolve.test.ts), references, and
// the stack-file edit that must change the digests and nothing else.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { withImageDigests } from "../../cli/images/stack-file.js";
import { parseChallenge, parseImageReference, registryBaseUrl, renderImageDigestsBlock, tokenRequestUrl } from "../../model/images/registry.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe("WWW-Authenticate challenges", () => {
  it("reads the registries' Bearer challenges into the anonymous token request", () => {
    const hub = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')!;
    expect(hub).toEqual({ scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" } });
    expect(tokenRequestUrl(hub, "library/busybox").href).toBe("https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fbusybox%3Apull");
    const ghcr = parseChallenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:spiffe/spire-server:pull"')!;
    expect(tokenRequestUrl(ghcr, "spiffe/spire-server").href).toBe("https://ghcr.io/token?service=ghcr.io&scope=repository%3Aspiffe%2Fspire-server%3Apull");
    // Quay names no scope: the pull scope of the repository asked for.
    const quay = parseChallenge('Bearer realm="https://quay.io/v2/auth",service="quay.io"')!;
    expect(tokenRequestUrl(quay, "jetstack/cert-manager-acmesolver").href).toBe("https://quay.io/v2/auth?service=quay.io&scope=repository%3Ajetstack%2Fcert-manager-acmesolver%3Apull");
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: "basic", params: { realm: "Registry Realm" } });
    expect(() => tokenRequestUrl(parseChallenge('Basic realm="x"')!, "a")).toThrow(/not a Bearer challenge/);
  });

  it("reads back any parameters, quoted with escapes or bare", () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
    const value = fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s));
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, value, fc.boolean()), { selector: ([n]) => n, maxLength: 5 }), (params) => {
        const header = `Bearer ${params.map(([n, v, bare]) => (bare && /^[A-Za-z0-9._:/-]+$/.test(v) ? `${n}=${v}` : `${n}="${v.replace(/[\\"]/g, "\\$&")}"`)).join(", ")}`;
        expect(parseChallenge(header)).toEqual({ scheme: "bearer", params: Object.fromEntries(params.map(([n, v]) => [n, v])) });
      }),
    );
  });
});

describe("image references", () => {
  it("splits registry, repository and tag; Docker Hub's official images are library/", () => {
    expect(parseImageReference("docker.io/library/busybox:1.37.0-uclibc")).toMatchObject({ registry: "docker.io", repository: "library/busybox", tag: "1.37.0-uclibc" });
    expect(parseImageReference("docker.io/busybox:1.37.0")).toMatchObject({ repository: "library/busybox" });
    expect(parseImageReference("registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.9.4")).toMatchObject({ registry: "registry.k8s.io", repository: "sig-storage/csi-node-driver-registrar" });
    expect(() => parseImageReference("busybox:1.37.0")).toThrow(/expected <registry>\/<repository>:<tag>/);
    expect(() => parseImageReference("docker.io/library/busybox@sha256:00")).toThrow();
    expect(registryBaseUrl("docker.io")).toBe("https://registry-1.docker.io");
    expect(registryBaseUrl("ghcr.io", { "ghcr.io": "http://127.0.0.1:5000/" })).toBe("http://127.0.0.1:5000");
  });
});

describe("the stack file edit", () => {
  const file = [
    "# a stack",
    "config:",
    "  meridian:regions: [{ id: a, cloud: aws }]   # flow map, kept",
    "  # the digests",
    "  meridian:imageDigests:",
    `    "docker.io/istio/pilot:1.28.0": ${d("0")}`,
    `    "registry.k8s.io/kubectl:v1.34.1": ${d("1")} # agreed by two sources`,
    `    "ghcr.io/spiffe/spire-server:1.13.0": ${d("2")} # still right`,
    "  meridian:budget:",
    "    monthlyUSD: 25000",
    "",
  ].join("\n");

  it("changes only the values that differ, drops the comment of a changed one, adds missing keys under the block", () => {
    const out = withImageDigests(
      file,
      { "docker.io/istio/pilot:1.28.0": d("a"), "registry.k8s.io/kubectl:v1.34.1": d("b"), "ghcr.io/spiffe/spire-server:1.13.0": d("2"), "quay.io/x/y:1": d("c") },
      "f",
    );
    expect(out).toBe(
      file
        .replace(`pilot:1.28.0": ${d("0")}`, `pilot:1.28.0": ${d("a")}`)
        .replace(`${d("1")} # agreed by two sources`, d("b"))
        .replace(`${d("2")} # still right\n`, `${d("2")} # still right\n    "quay.io/x/y:1": ${d("c")}\n`),
    );
  });

  it("creates the block when the stack has none, keeping every other setting", () => {
    const bare = "config:\n  meridian:budget:\n    monthlyUSD: 1\n";
    const out = withImageDigests(bare, { "docker.io/istio/pilot:1.28.0": d("a") }, "f");
    expect(parse(out)).toEqual({ config: { "meridian:budget": { monthlyUSD: 1 }, "meridian:imageDigests": { "docker.io/istio/pilot:1.28.0": d("a") } } });
  });

  it("prints a block that parses to the digests", () => {
    const digests = { "docker.io/istio/pilot:1.28.0": d("a"), "quay.io/x/y:1": d("c") };
    expect(parse(renderImageDigestsBlock(digests))).toEqual({ "meridian:imageDigests": digests });
  });
});
