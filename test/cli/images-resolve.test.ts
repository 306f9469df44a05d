// `meridian images resolve` against a real registry: CNCF Distribution (Debian's docker-registry) on loopback,
// with images pushed through its HTTP API as OCI indexes, Docker manifest lists and single manifests. The
// digests resolve must print are the ones the registry computed when it stored them; with token auth the
// registry's own 401 challenge drives the Bearer flow against a token service whose JWTs the registry verifies.
import "reflect-metadata"; // tsyringe (used by @peculiar/x509) needs the Reflect metadata API
import { X509CertificateGenerator, KeyUsagesExtension, KeyUsageFlags } from "@peculiar/x509";
import { SignJWT } from "jose";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { requiredImageDigests } from "../../model/images/charts.js";
import { parseImageReference } from "../../model/images/registry.js";
import type { ModelView } from "../../policies/rule.js";
import { runtimeImagePlaceholder } from "../../policies/rules/images.js";
import { parseEstateConfig } from "../../stacks/load.js";
import { REPO_ROOT, runCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { Pusher, startRegistry, type ManifestKind, type Registry } from "./oci-registry.js";

const KINDS: ManifestKind[] = ["oci-index", "docker-list", "docker-manifest", "oci-manifest"];
const REGISTRIES = ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io"];
const endpointArgs = (url: string) => REGISTRIES.flatMap((r) => ["--endpoint", `${r}=${url}`]);
const KUBECTL = "registry.k8s.io/kubectl:v1.34.1";

/** Pushes every image the catalogue needs (but `skip`) as alternating manifest kinds; the registry's digests. */
async function pushAll(pusher: Pusher, skip: string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const refs = requiredImageDigests();
  for (const [i, ref] of refs.entries()) {
    if (skip.includes(ref)) continue;
    const { repository, tag } = parseImageReference(ref);
    out[ref] = await pusher.push(repository, tag, KINDS[i % KINDS.length]!);
  }
  return out;
}

function stacksCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "images-resolve-stacks-"));
  copyFileSync(join(REPO_ROOT, "stacks/Pulumi.prod.yaml"), join(dir, "Pulumi.prod.yaml"));
  return dir;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("images resolve against Distribution without auth", () => {
  let registry: Registry;
  let pushed: Record<string, string>;
  let pusher: Pusher;
  beforeAll(async () => {
    registry = await startRegistry();
    pusher = new Pusher(registry.url);
    pushed = await pushAll(pusher, [KUBECTL]);
  }, 120_000);
  afterAll(() => registry?.stop());

  it("writes nothing when one image is missing, and names it with the registry's 404", async () => {
    const dir = stacksCopy();
    dirs.push(dir);
    const file = join(dir, "Pulumi.prod.yaml");
    const before = readFileSync(file, "utf8");
    const r = await runCliInProcess(["images", "resolve", "--stack", "prod", "--write", ...endpointArgs(registry.url)], { env: { MERIDIAN_STACKS_DIR: dir } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("1 of 16 images could not be resolved; the stack file is unchanged");
    expect(r.stderr).toMatch(/registry\.k8s\.io\/kubectl:v1\.34\.1: 127\.0\.0\.1:\d+ has no manifest for tag v1\.34\.1 in kubectl \(404\)/);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("resolves every image to the digest the registry computed, whatever the manifest kind, and --write sets exactly those values", async () => {
    pushed[KUBECTL] = await pusher.push("kubectl", "v1.34.1", "oci-index");
    const dir = stacksCopy();
    dirs.push(dir);
    const file = join(dir, "Pulumi.prod.yaml");
    const before = readFileSync(file, "utf8");

    // The bin itself (its wiring), printing the block.
    const printed = runCli(["images", "resolve", "--stack", "prod", ...endpointArgs(registry.url)], { env: { MERIDIAN_STACKS_DIR: dir } });
    expect(printed.stderr).toBe("");
    expect(printed.status).toBe(0);
    expect((parse(printed.stdout) as Record<string, unknown>)["meridian:imageDigests"]).toEqual(pushed);
    expect(readFileSync(file, "utf8")).toBe(before);

    const r = await runCliInProcess(["images", "resolve", "--stack", "prod", "--write", ...endpointArgs(registry.url)], { env: { MERIDIAN_STACKS_DIR: dir } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("meridian:imageDigests has 16 digests (16 changed)");
    const after = readFileSync(file, "utf8");
    const config = (parse(after) as { config: Record<string, unknown> }).config;
    expect(config["meridian:imageDigests"]).toEqual(pushed);
    // Every other line of the file is as it was: comments, flow maps, quoting.
    const [a, b] = [before.split("\n"), after.split("\n")];
    expect(b.length).toBe(a.length);
    const changed = a.map((line, i) => [line, b[i]!] as const).filter(([x, y]) => x !== y);
    expect(changed).toHaveLength(16);
    // The digest changes, and the sources comment of a shipped digest goes with it (it described the old one).
    for (const [x, y] of changed) expect(x.replace(/sha256:[0-9a-f]{64}( #.*)?$/, "")).toBe(y.replace(/sha256:[0-9a-f]{64}$/, ""));
    expect(b.filter((line) => /"registry\.k8s\.io\/kubectl:v1\.34\.1": sha256:[0-9a-f]{64}$/.test(line))).toHaveLength(1);
    // The written stack loads (the stack checks) and the pack no longer refuses its chart images: what is left is the
    // runtime image, which no registry lookup can supply (it is pushed by the operator).
    const list = await runCliInProcess(["images", "list", "--stack", "prod"], { env: { MERIDIAN_STACKS_DIR: dir } });
    expect(list.stdout).not.toContain("placeholder");
    const spec = { ...parseEstateConfig((parse(after) as { config: Record<string, unknown> }).config, file), stack: "prod" };
    const findings = runtimeImagePlaceholder.check([], { config: {}, model: { spec } as unknown as ModelView } as Parameters<typeof runtimeImagePlaceholder.check>[1]);
    expect(findings.map((f) => f.message.split(":")[0])).toEqual(["meridian"]);
    expect(findings[0]!.message).toMatch(/^meridian:runtime\.image is the placeholder/);

    // Run again: the tags still point at the same manifests, nothing changes.
    const again = await runCliInProcess(["images", "resolve", "--stack", "prod", "--write", ...endpointArgs(registry.url)], { env: { MERIDIAN_STACKS_DIR: dir } });
    expect(again.stdout).toContain("(0 changed)");
    expect(readFileSync(file, "utf8")).toBe(after);
  });
});

/** A token service for Distribution's token auth: ES256 JWTs with an x5c chain to the registry's root bundle. */
async function tokenService(service: string, issuer: string) {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=meridian test token issuer",
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign, true)],
  });
  const x5c = [Buffer.from(cert.rawData).toString("base64")];
  const state = { deny: new Set<string>(), requests: [] as string[] };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://x");
      state.requests.push(url.search);
      const access = url.searchParams.getAll("scope").flatMap((scope) => {
        const [type, name, actions] = scope.split(":");
        return type === "repository" && name && !state.deny.has(name) ? [{ type, name, actions: (actions ?? "").split(",") }] : [];
      });
      const token = await new SignJWT({ access })
        .setProtectedHeader({ alg: "ES256", typ: "JWT", x5c })
        .setIssuer(issuer)
        .setSubject("anonymous")
        .setAudience(service)
        .setIssuedAt()
        .setNotBefore(Math.floor(Date.now() / 1000) - 60)
        .setExpirationTime("5m")
        .setJti(String(state.requests.length))
        .sign(keys.privateKey);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ token }));
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const get = async (repository: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/token?service=${service}&scope=repository:${repository}:pull,push`);
    return ((await res.json()) as { token: string }).token;
  };
  return { server, state, get, realm: `http://127.0.0.1:${port}/token`, rootCertPem: cert.toString("pem") };
}

describe("images resolve against Distribution with token auth", () => {
  let registry: Registry;
  let tokens: Awaited<ReturnType<typeof tokenService>>;
  let pushed: Record<string, string>;
  beforeAll(async () => {
    tokens = await tokenService("meridian-test-registry", "meridian-test-issuer");
    registry = await startRegistry({ realm: tokens.realm, service: "meridian-test-registry", issuer: "meridian-test-issuer", rootCertPem: tokens.rootCertPem });
    // Without a token the registry challenges (so the flow below is the registry's, not the client's idea).
    const bare = await fetch(`${registry.url}/v2/kubectl/manifests/v1.34.1`, { method: "HEAD" });
    expect(bare.status).toBe(401);
    expect(bare.headers.get("www-authenticate")).toMatch(/^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="meridian-test-registry",scope="repository:kubectl:pull"/);
    pushed = await pushAll(new Pusher(registry.url, tokens.get));
  }, 120_000);
  afterAll(async () => {
    tokens?.server.close();
    await registry?.stop();
  });

  it("answers the registry's Bearer challenge with a pull token and resolves every image", async () => {
    tokens.state.requests.length = 0;
    const r = await runCliInProcess(["images", "resolve", ...endpointArgs(registry.url)]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect((parse(r.stdout) as Record<string, unknown>)["meridian:imageDigests"]).toEqual(pushed);
    // One anonymous pull-scoped token per repository, for the service the challenge named.
    expect(tokens.state.requests).toContain("?service=meridian-test-registry&scope=repository%3Aspiffe%2Fspire-server%3Apull");
    expect(tokens.state.requests).toHaveLength(Object.keys(pushed).length);
  });

  it("names the image whose pull the registry refuses even with a token, and prints nothing", async () => {
    tokens.state.deny.add("spiffe/spire-server");
    try {
      const r = await runCliInProcess(["images", "resolve", ...endpointArgs(registry.url)]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("1 of 16 images could not be resolved");
      expect(r.stderr).toMatch(/ghcr\.io\/spiffe\/spire-server:1\.13\.0: 127\.0\.0\.1:\d+ refused the anonymous pull token \(401\)/);
    } finally {
      tokens.state.deny.clear();
    }
  });
});

describe("images resolve against a registry that never answers", () => {
  let hung: TcpServer;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    hung = createTcpServer((s) => sockets.push(s));
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
  });
  afterAll(() => {
    for (const s of sockets) s.destroy();
    hung.close();
  });

  it("gives up after --timeout and names each image", async () => {
    const url = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
    const r = await runCliInProcess(["images", "resolve", "--timeout", "0.5", ...endpointArgs(url)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("16 of 16 images could not be resolved");
    expect(r.stderr).toContain(`docker.io/istio/pilot:1.28.0: no answer from ${url.slice(7)} within 0.5 s`);
  });

  it("refuses --write without a stack and a malformed --endpoint, before asking anyone", async () => {
    expect((await runCliInProcess(["images", "resolve", "--write"])).stderr).toContain("--write needs --stack");
    const bad = await runCliInProcess(["images", "resolve", "--endpoint", "docker.io"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--endpoint docker.io: expected <registry>=<http(s) URL>");
  });
});
