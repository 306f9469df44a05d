/**
 * A real OCI registry on loopback for the tests: CNCF Distribution (Debian's `docker-registry`, .ci/run installs
 * it) on a port it picks itself, with its storage in a temp directory, optionally behind token auth; and pushes
 * through its HTTP API (blob uploads, manifests by digest, indexes by tag), returning the digest the
 * registry computed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TokenAuth {
  /** The token service's URL (the challenge's realm). */
  realm: string;
  service: string;
  issuer: string;
  /** PEM of the certificate the tokens' x5c chains to. */
  rootCertPem: string;
}

export interface Registry {
  url: string;
  stop(): Promise<void>;
}

export async function startRegistry(auth?: TokenAuth): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), "oci-registry-"));
  const lines = [
    "version: 0.1",
    "log: { level: info }",
    `storage: { filesystem: { rootdirectory: ${JSON.stringify(join(dir, "data"))} }, maintenance: { uploadpurging: { enabled: false } } }`,
    'http: { addr: "127.0.0.1:0" }',
  ];
  if (auth) {
    writeFileSync(join(dir, "root.pem"), auth.rootCertPem);
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${JSON.stringify(auth.realm)}`,
      `    service: ${JSON.stringify(auth.service)}`,
      `    issuer: ${JSON.stringify(auth.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(join(dir, "root.pem"))}`,
    );
  }
  writeFileSync(join(dir, "config.yml"), `${lines.join("\n")}\n`);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise<string>((resolve, reject) => {
    let log = "";
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(log);
      if (m) resolve(`http://${m[1]!}`);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`docker-registry exited (${code}) before listening:\n${log.slice(-2000)}`)));
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export type ManifestKind = "oci-index" | "docker-list" | "docker-manifest" | "oci-manifest";

const TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
};

/** Pushes images into one repository of a registry (a Bearer token when it needs one). */
export class Pusher {
  constructor(
    private readonly base: string,
    private readonly token?: (repository: string) => Promise<string>,
  ) {}

  private async headers(repository: string, extra: Record<string, string>): Promise<Record<string, string>> {
    return this.token ? { ...extra, authorization: `Bearer ${await this.token(repository)}` } : extra;
  }

  private async blob(repository: string, content: Buffer): Promise<{ digest: string; size: number }> {
    const digest = sha256(content);
    // Distribution 2.8 opens an upload session (202, Location) and takes the blob in one PUT that names its digest.
    const session = await fetch(`${this.base}/v2/${repository}/blobs/uploads/`, { method: "POST", headers: await this.headers(repository, {}) });
    const location = session.headers.get("location");
    if (session.status !== 202 || location === null) throw new Error(`blob upload to ${repository}: ${session.status} ${await session.text()}`);
    const put = new URL(location, this.base);
    put.searchParams.set("digest", digest);
    const res = await fetch(put, { method: "PUT", headers: await this.headers(repository, { "content-type": "application/octet-stream" }), body: new Uint8Array(content) });
    if (res.status !== 201) throw new Error(`blob upload to ${repository}: ${res.status} ${await res.text()}`);
    return { digest, size: content.length };
  }

  /** PUTs a manifest; returns the digest the registry says it stored it under. */
  private async manifest(repository: string, reference: string, mediaType: string, doc: unknown): Promise<{ digest: string; size: number; mediaType: string }> {
    const body = Buffer.from(JSON.stringify(doc));
    const res = await fetch(`${this.base}/v2/${repository}/manifests/${reference}`, {
      method: "PUT",
      headers: await this.headers(repository, { "content-type": mediaType }),
      body: new Uint8Array(body),
    });
    if (res.status !== 201) throw new Error(`manifest PUT ${repository}:${reference}: ${res.status} ${await res.text()}`);
    const digest = res.headers.get("docker-content-digest");
    if (digest !== sha256(body)) throw new Error(`registry stored ${repository}:${reference} as ${digest}, not the sha256 of its bytes`);
    return { digest, size: body.length, mediaType };
  }

  private async image(repository: string, oci: boolean, arch: string, reference?: string) {
    const config = await this.blob(repository, Buffer.from(JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: {} })));
    const layer = await this.blob(repository, Buffer.from(`layer of ${repository} for ${arch}`));
    const doc = {
      schemaVersion: 2,
      mediaType: oci ? TYPES.ociManifest : TYPES.dockerManifest,
      config: { mediaType: oci ? TYPES.ociConfig : TYPES.dockerConfig, ...config },
      layers: [{ mediaType: oci ? TYPES.ociLayer : TYPES.dockerLayer, ...layer }],
    };
    return this.manifest(repository, reference ?? sha256(Buffer.from(JSON.stringify(doc))), doc.mediaType, doc);
  }

  /** `repository:tag` as this kind of manifest; the digest the registry computed for what the tag points at. */
  async push(repository: string, tag: string, kind: ManifestKind): Promise<string> {
    if (kind === "docker-manifest" || kind === "oci-manifest") return (await this.image(repository, kind === "oci-manifest", "amd64", tag)).digest;
    const oci = kind === "oci-index";
    const manifests = [];
    for (const arch of ["amd64", "arm64"]) {
      const m = await this.image(repository, oci, arch);
      manifests.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { architecture: arch, os: "linux" } });
    }
    const mediaType = oci ? TYPES.ociIndex : TYPES.dockerList;
    return (await this.manifest(repository, tag, mediaType, { schemaVersion: 2, mediaType, manifests })).digest;
  }
}
