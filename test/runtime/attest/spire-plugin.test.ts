// The SPIRE `meridian_attest` NodeAttestor plugins (runtime/attest/spire-plugin, Go) built with Debian's Go and
// libraries, loaded the way SPIRE's catalog loads external plugins (go-plugin over gRPC, the NodeAttestor
// handshake, checksum, Init, Configure) by spire-catalog-harness, which relays one node attestation between the
// agent plugin (tpm2_quote on a live swtpm) and the server plugin (a real `attest serve`): a genuine node gets
// its AgentAttributes; a replayed quote, a node claiming another's identity, a quote against the wrong
// reference, an unknown node, a stale nonce and a verifier of another trust domain get no SVID.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock, type Clock } from "../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { attestService } from "../../../runtime/attest/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { createLocalTrustDomain } from "../../../runtime/identity/index.js";
import { createAk, MEASURED_PCR16, measureNode, startSoftwareTpm, ZERO_PCR, type SoftwareTpm } from "./swtpm.js";

const SRC = fileURLToPath(new URL("../../../runtime/attest/spire-plugin/", import.meta.url));
const TD = "attest.test";
const REFERENCE = { sha256: { "0": ZERO_PCR, "1": ZERO_PCR, "2": ZERO_PCR, "16": MEASURED_PCR16 } };

/**
 * Build once per source tree and Go version (the build is a minute or more on a cold Go cache); atomic rename into
 * place. Asynchronous: the software TPM and the verifier start while Go compiles.
 */
async function buildPlugins(): Promise<string> {
  const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
  const h = createHash("sha256").update(spawnSync("go", ["version"], { encoding: "utf8" }).stdout);
  for (const f of files(SRC).sort()) h.update(relative(SRC, f)).update("\0").update(readFileSync(f)).update("\0");
  const out = join(tmpdir(), `meridian-spire-plugin-${h.digest("hex").slice(0, 16)}`);
  if (existsSync(join(out, "bin", "spire-catalog-harness"))) return join(out, "bin");
  const tmp = `${out}.${process.pid}`;
  const r = await run(join(SRC, "build.sh"), [tmp], {}, 900_000);
  if (r.status !== 0) throw new Error(`build.sh failed (${r.status}): ${r.stderr}${r.stdout}`);
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another run built the same tree first
  }
  return join(out, "bin");
}

let bin: string;

/** build.sh's SHA256SUMS (`sha256sum` lines): binary name → hex SHA-256. */
function checksums(dir: string): Record<string, string> {
  const lines = readFileSync(join(dir, "SHA256SUMS"), "utf8").trim().split("\n");
  return Object.fromEntries(lines.map((l) => /^([0-9a-f]{64}) [ *](\S+)$/.exec(l)!).map((m) => [m[2]!, m[1]!]));
}
let tpm: SoftwareTpm;
let rsa: { ctx: string; pem: string };
let ecc: { ctx: string; pem: string };
let verifier: RunningService;
let work: string;

async function startVerifier(o: { clock?: Clock; trustDomain?: string; callers?: string[]; tls?: { cert: string; key: string; bundle: string } } = {}): Promise<RunningService> {
  return startService(
    attestService,
    {
      key: generateKey("meridian-attest-spire").signerKey,
      spire: { trustDomain: o.trustDomain ?? TD },
      nodes: {
        "node-1": { ak: readFileSync(rsa.pem, "utf8"), reference: REFERENCE },
        // node-2's endorsed AK is the ECC one: the RSA AK's quote is another key's.
        "node-2": { ak: readFileSync(ecc.pem, "utf8"), reference: REFERENCE },
        // node-3 shares the RSA AK but its reference expects PCR 16 unmeasured.
        "node-3": { ak: readFileSync(rsa.pem, "utf8"), reference: { sha256: { "16": ZERO_PCR } } },
      },
      ...(o.callers ? { callers: o.callers } : {}),
      server: { port: 0, ...(o.tls ? { tls: o.tls } : {}) },
    },
    { clock: o.clock ?? systemClock, processMetrics: false },
  );
}

beforeAll(async () => {
  const built = buildPlugins();
  built.catch(() => undefined); // awaited below, after the TPM and the verifier
  work = mkdtempSync(join(tmpdir(), "meridian-spire-harness-"));
  tpm = await startSoftwareTpm();
  rsa = createAk(tpm, "ak", "rsa");
  ecc = createAk(tpm, "ak-ecc", "ecc");
  measureNode(tpm);
  verifier = await startVerifier();
  bin = await built;
}, 900_000);

afterAll(async () => {
  await verifier?.close();
  tpm?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Outcome {
  server_services: string[];
  agent_services: string[];
  agent_attributes?: { spiffe_id: string; selector_values: string[]; can_reattest: boolean };
  code?: string;
  message?: string;
}

/** Run the harness (or the build) without blocking this process's event loop: the verifier answers from it. */
function run(file: string, args: string[], env: Record<string, string> = {}, timeout = 180_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout, maxBuffer: 16 << 20, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr }),
    );
    child.once("error", reject);
  });
}

async function attest(
  o: { node?: string; verifierUrl?: string; serverConfig?: string; serverChecksum?: string; claim?: string; record?: string; replay?: string; agentConfig?: string; env?: Record<string, string> } = {},
): Promise<Outcome> {
  const agentConfig =
    o.agentConfig ??
    `node = "${o.node ?? "node-1"}"\nak_context = "${join(tpm.dir, rsa.ctx)}"\npcr_list = "sha256:0,1,2,16"\ntcti = "swtpm:host=127.0.0.1,port=${tpm.port}"\nflush_transient_objects = true\n`;
  const sums = checksums(bin);
  const args = ["-server", join(bin, "meridian_attest"), "-agent", join(bin, "meridian_attest_agent"), "-trust-domain", TD];
  // Every load checks plugin_checksum as SPIRE does, with the sums build.sh wrote (what the plan renders).
  args.push("-server-checksum", o.serverChecksum ?? sums["meridian_attest"]!, "-agent-checksum", sums["meridian_attest_agent"]!);
  args.push("-server-config", o.serverConfig ?? `verifier_url = "${o.verifierUrl ?? verifier.url}"\n`, "-agent-config", agentConfig);
  for (const k of ["claim", "record", "replay"] as const) if (o[k]) args.push(`-${k}`, o[k]);
  const r = await run(join(bin, "spire-catalog-harness"), args, o.env);
  if (r.status !== 0) throw new Error(`harness failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome;
}

describe("meridian_attest SPIRE NodeAttestor plugins, loaded as SPIRE's catalog loads them", () => {
  it("builds static binaries: SPIRE's images have no libc to load (no ELF interpreter segment)", () => {
    for (const binary of ["meridian_attest", "meridian_attest_agent"]) {
      const elf = readFileSync(join(bin, binary));
      expect(elf.subarray(0, 4).toString("latin1"), binary).toBe("\x7fELF");
      const [phoff, phentsize, phnum] = [Number(elf.readBigUInt64LE(0x20)), elf.readUInt16LE(0x36), elf.readUInt16LE(0x38)];
      const PT_INTERP = 3;
      const types = Array.from({ length: phnum }, (_, i) => elf.readUInt32LE(phoff + i * phentsize));
      expect(types, binary).not.toContain(PT_INTERP);
    }
  });

  it("writes plugin_checksum values that are the binaries' SHA-256, reproducibly: a second build elsewhere gives the same bytes", () => {
    const sums = checksums(bin);
    expect(Object.keys(sums).sort()).toEqual(["meridian_attest", "meridian_attest_agent"]);
    for (const [name, sum] of Object.entries(sums))
      expect(
        createHash("sha256")
          .update(readFileSync(join(bin, name)))
          .digest("hex"),
        name,
      ).toBe(sum);
    const again = mkdtempSync(join(tmpdir(), "meridian-spire-plugin-again-"));
    try {
      const r = spawnSync(join(SRC, "build.sh"), [join(again, "out")], { encoding: "utf8", timeout: 900_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(checksums(join(again, "out", "bin"))).toEqual(sums);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  }, 900_000);

  it("refuses to load a plugin whose binary is not the plugin_checksum's", async () => {
    const other = checksums(bin)["meridian_attest_agent"]!;
    await expect(attest({ serverChecksum: other })).rejects.toThrow(/server plugin: .*checksums did not match/);
    await expect(attest({ serverChecksum: "00" })).rejects.toThrow(/plugin_checksum: "00" is not a hex SHA-256/);
  });

  it("admits a genuine node: AgentAttributes from the verifier, selectors from the quoted PCRs", async () => {
    const out = await attest({ record: join(work, "genuine.json") });
    expect(out.server_services).toEqual(["spire.plugin.server.nodeattestor.v1.NodeAttestor", "spire.service.common.config.v1.Config"]);
    expect(out.agent_services).toEqual(["spire.plugin.agent.nodeattestor.v1.NodeAttestor", "spire.service.common.config.v1.Config"]);
    expect(out.code, out.message).toBeUndefined();
    expect(out.agent_attributes).toMatchObject({ spiffe_id: `spiffe://${TD}/spire/agent/meridian_attest/node-1`, can_reattest: true });
    expect(out.agent_attributes!.selector_values).toEqual(expect.arrayContaining(["node:node-1", "format:tpm", `pcr:sha256:16:${MEASURED_PCR16}`]));
    // The recorded answer is tpm2_quote's three files over the verifier's nonce.
    expect(Object.keys(JSON.parse(readFileSync(join(work, "genuine.json"), "utf8")) as object).sort()).toEqual(["message", "pcrs", "signature"]);
  });

  it("admits the node as components/pki/spire-attest.ts configures a DaemonSet's agents: node name from the environment, AK at a persistent handle", async () => {
    tpm.tool("tpm2_evictcontrol", ["-C", "o", "-c", rsa.ctx, "0x81010002"]);
    const agentConfig = `node_env = "MERIDIAN_NODE_NAME"\nak_context = "0x81010002"\npcr_list = "sha256:0,1,2,16"\ntcti = "swtpm:host=127.0.0.1,port=${tpm.port}"\nflush_transient_objects = true\n`;
    const out = await attest({ agentConfig, env: { MERIDIAN_NODE_NAME: "node-1" } });
    expect(out.code, out.message).toBeUndefined();
    expect(out.agent_attributes).toMatchObject({ spiffe_id: `spiffe://${TD}/spire/agent/meridian_attest/node-1` });
    await expect(attest({ agentConfig })).rejects.toThrow(/node: got "" \(node_env "MERIDIAN_NODE_NAME"\)/);
  });

  it("quotes with tpm2-closure.sh's bundle alone, as in SPIRE's agent image (no tpm2-tools on PATH): its own loader and libraries", async () => {
    const dir = join(work, "tpm2");
    const r = spawnSync(join(SRC, "tpm2-closure.sh"), [dir], { encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(dir, "lib"))).toEqual(expect.arrayContaining(["ld.so", "libc.so.6", "libtss2-tcti-device.so.0", "libtss2-tcti-swtpm.so.0"]));
    const base = `node = "node-1"\nak_context = "${join(tpm.dir, rsa.ctx)}"\npcr_list = "sha256:0,1,2,16"\ntcti = "swtpm:host=127.0.0.1,port=${tpm.port}"\nflush_transient_objects = true\n`;
    const noTools = { PATH: "/nonexistent" };
    // Without the bundle, nothing on PATH can quote ...
    const none = await attest({ agentConfig: base, env: noTools });
    expect(none.agent_attributes).toBeUndefined();
    expect(none.message).toMatch(/tpm2_quote.*executable file not found/);
    // ... with it, the node is admitted.
    const out = await attest({ agentConfig: `${base}tpm2_tools_dir = "${dir}"\n`, env: noTools });
    expect(out.code, out.message).toBeUndefined();
    expect(out.agent_attributes).toMatchObject({ spiffe_id: `spiffe://${TD}/spire/agent/meridian_attest/node-1` });
    await expect(attest({ agentConfig: `${base}tpm2_tools_dir = "${work}"\n` })).rejects.toThrow(/tpm2_tools_dir: .*lib\/ld\.so is not an executable/);
  });

  it("refuses a replayed quote: the new challenge is a new nonce", async () => {
    const out = await attest({ replay: join(work, "genuine.json") });
    expect(out).toMatchObject({ code: "PermissionDenied" });
    expect(out.message).toMatch(/^meridian_attest: attestation refused \(403\): .*nonce/);
    expect(out.agent_attributes).toBeUndefined();
  });

  it("refuses a node claiming another node's identity (its quote is by another key)", async () => {
    for (const o of [{ claim: "node-2" }, { node: "node-2" }]) {
      const out = await attest(o);
      expect(out).toMatchObject({ code: "PermissionDenied" });
      expect(out.message).toMatch(/attestation refused \(403\)/);
    }
  });

  it("refuses a node whose PCRs are not its reference values, and a node the verifier does not know", async () => {
    const wrong = await attest({ node: "node-3" });
    expect(wrong).toMatchObject({ code: "PermissionDenied" });
    expect(wrong.message).toMatch(/reference: sha256 PCR 16/);
    const unknown = await attest({ node: "node-9" });
    expect(unknown).toMatchObject({ code: "PermissionDenied" });
    expect(unknown.message).toMatch(/unknown node \(404\)/);
  });

  it("refuses a quote over a stale nonce", async () => {
    // Every reading of this verifier's clock is 10 minutes after the last: each nonce has expired when used.
    let t = Date.now();
    const stale = await startVerifier({ clock: { now: () => (t += 600_000) } });
    try {
      const out = await attest({ verifierUrl: stale.url });
      expect(out).toMatchObject({ code: "PermissionDenied" });
      expect(out.message).toMatch(/expired/);
    } finally {
      await stale.close();
    }
  });

  it("refuses when the verifier answers for another trust domain, and an agent config naming a missing AK", async () => {
    const other = await startVerifier({ trustDomain: "other.test" });
    try {
      const out = await attest({ verifierUrl: other.url });
      expect(out).toMatchObject({ code: "FailedPrecondition" });
      expect(out.message).toMatch(/spiffe:\/\/other\.test\/spire\/agent\/meridian_attest\/node-1/);
    } finally {
      await other.close();
    }
    await expect(attest({ agentConfig: `node = "node-1"\nak_context = "${join(work, "missing.ctx")}"\n` })).rejects.toThrow(/agent plugin: configure: .*ak_context/);
    await expect(attest({ agentConfig: `node = "node-1"\nak_contxt = "x"\n` })).rejects.toThrow(/unknown key ak_contxt/);
  });
});

describe("meridian_attest's server plugin reaches the verifier over mTLS, as the estate's STRICT mesh requires", () => {
  const SPIRE_SERVER = `spiffe://${TD}/spire/server`;
  const VERIFIER = `spiffe://${TD}/ns/meridian-runtime/sa/attest`;
  let secure: RunningService;
  type Pair = { cert: string; key: string };
  let files: { bundle: string; rogueBundle: string; spire: Pair; escrow: Pair; forged: Pair };

  /** Writes an SVID's certificate and key next to each other; returns their paths. */
  const save = (name: string, svid: { cert: string; key: string }) => {
    const cert = join(work, `${name}.crt`);
    const key = join(work, `${name}.key`);
    writeFileSync(cert, svid.cert);
    writeFileSync(key, svid.key, { mode: 0o600 });
    return { cert, key };
  };
  const config = (o: { client?: { cert: string; key: string }; verifierId?: string; url?: string; bundle?: string }) =>
    [
      `verifier_url = "${o.url ?? secure.url}"`,
      `ca_bundle_path = "${o.bundle ?? files.bundle}"`,
      `verifier_spiffe_id = "${o.verifierId ?? VERIFIER}"`,
      ...(o.client ? [`client_cert_path = "${o.client.cert}"`, `client_key_path = "${o.client.key}"`] : []),
    ].join("\n") + "\n";

  beforeAll(async () => {
    const ca = await createLocalTrustDomain(TD, systemClock);
    const rogue = await createLocalTrustDomain(TD, systemClock);
    const bundle = join(work, "bundle.pem");
    const rogueBundle = join(work, "rogue-bundle.pem");
    writeFileSync(bundle, ca.bundle);
    writeFileSync(rogueBundle, rogue.bundle);
    const server = save("verifier", await ca.issueSvid(VERIFIER, { ttlSeconds: 3600 }));
    files = {
      bundle,
      rogueBundle,
      spire: save("spire-server", await ca.issueSvid(SPIRE_SERVER, { ttlSeconds: 3600 })),
      escrow: save("escrow", await ca.issueSvid(`spiffe://${TD}/ns/meridian-runtime/sa/escrow`, { ttlSeconds: 3600 })),
      forged: save("forged", await rogue.issueSvid(SPIRE_SERVER, { ttlSeconds: 3600 })),
    };
    secure = await startVerifier({ callers: [SPIRE_SERVER], tls: { cert: server.cert, key: server.key, bundle: files.bundle } });
  }, 120_000);

  afterAll(async () => {
    await secure?.close();
  });

  it("admits a genuine node when the plugin presents the SPIRE server's SVID", async () => {
    expect(secure.url).toMatch(/^https:/);
    const out = await attest({ serverConfig: config({ client: files.spire }) });
    expect(out.code, out.message).toBeUndefined();
    expect(out.agent_attributes).toMatchObject({ spiffe_id: `spiffe://${TD}/spire/agent/meridian_attest/node-1` });
  });

  it("gets no SVID when the plugin presents no client certificate, another workload's, or the right ID from another CA", async () => {
    const none = await attest({ serverConfig: config({}) });
    expect(none).toMatchObject({ code: "PermissionDenied" });
    expect(none.message).toMatch(/unauthenticated \(401\)/);
    const other = await attest({ serverConfig: config({ client: files.escrow }) });
    expect(other).toMatchObject({ code: "PermissionDenied" });
    expect(other.message).toMatch(/forbidden \(403\): .*sa\/escrow is not allowed/);
    const forged = await attest({ serverConfig: config({ client: files.forged }) });
    expect(forged).toMatchObject({ code: "PermissionDenied" });
    expect(forged.message).toMatch(/unauthenticated \(401\)/);
    expect([none, other, forged].map((o) => o.agent_attributes)).toEqual([undefined, undefined, undefined]);
  });

  it("refuses a verifier that is not the one configured: another SPIFFE ID, a certificate outside the bundle, plain http", async () => {
    const client = files.spire;
    const wrongId = await attest({ serverConfig: config({ client, verifierId: `spiffe://${TD}/ns/meridian-runtime/sa/quota` }) });
    expect(wrongId).toMatchObject({ code: "Unavailable" });
    expect(wrongId.message).toMatch(/not verifier_spiffe_id spiffe:\/\/attest\.test\/ns\/meridian-runtime\/sa\/quota/);
    const wrongCa = await attest({ serverConfig: config({ client, bundle: files.rogueBundle }) });
    expect(wrongCa).toMatchObject({ code: "Unavailable" });
    expect(wrongCa.message).toMatch(/certificate signed by unknown authority/);
    await expect(attest({ serverConfig: config({ client, url: verifier.url }) })).rejects.toThrow(/plain http.*use https/);
    await expect(attest({ serverConfig: `verifier_url = "${secure.url}"\n` })).rejects.toThrow(/ca_bundle_path: required with an https verifier_url/);
  });
});
