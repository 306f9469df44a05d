/**
 * A real software TPM for the attestation tests: `swtpm socket` on a free pair of loopback ports (the swtpm
 * TCTI talks to port P and its control channel on P+1), driven with tpm2-tools exactly as an operator would.
 * swtpm has no resource manager, so transient objects are flushed after every tool (a TPM holds only a few).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, connect } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SoftwareTpm {
  dir: string;
  port: number;
  /** Run a tpm2-tools command against this TPM (cwd: dir); throws with its stderr when it fails. */
  tool(name: string, args: string[]): string;
  /** The same, returning the exit status and output instead of throwing (tpm2_checkquote's verdict). */
  try(name: string, args: string[]): { status: number | null; stdout: string; stderr: string };
  stop(): void;
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });

async function launch(dir: string, port: number): Promise<ChildProcess | undefined> {
  const child = spawn(
    "swtpm",
    ["socket", "--tpm2", "--server", `type=tcp,port=${port},bindaddr=127.0.0.1`, "--ctrl", `type=tcp,port=${port + 1},bindaddr=127.0.0.1`, "--tpmstate", `dir=${dir}`, "--flags", "startup-clear"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let exited = false;
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.once("exit", () => (exited = true));
  // Ready when the command port accepts; a port taken since we probed it makes swtpm exit: try another.
  for (let i = 0; i < 400 && !exited; i++) {
    if (await accepts(port)) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!exited) child.kill("SIGKILL");
  if (/address already in use|bind/i.test(stderr) || exited) return undefined;
  throw new Error(`swtpm did not accept on port ${port}: ${stderr}`);
}

/** The local CA `swtpm_setup --create-ek-cert` signed the EK certificate with (swtpm_localca): its root and issuer. */
export interface EkCa {
  root: string;
  issuer: string;
}

/**
 * Manufacture the TPM as a vendor would: `swtpm_setup --create-ek-cert` with swtpm_localca, which makes a root CA
 * and an issuing CA under `<dir>/ca` and writes the RSA EK's certificate to NV index 0x1c00002.
 */
function manufacture(dir: string): EkCa {
  const ca = join(dir, "ca");
  mkdirSync(ca);
  writeFileSync(join(dir, "localca.conf"), `statedir = ${ca}\nsigningkey = ${ca}/signkey.pem\nissuercert = ${ca}/issuercert.pem\ncertserial = ${ca}/certserial\n`);
  writeFileSync(join(dir, "localca.options"), "--platform-manufacturer Meridian\n--platform-version 2.1\n--platform-model swtpm\n");
  writeFileSync(join(dir, "setup.conf"), `create_certs_tool = swtpm_localca\ncreate_certs_tool_config = ${dir}/localca.conf\ncreate_certs_tool_options = ${dir}/localca.options\n`);
  const r = spawnSync("swtpm_setup", ["--tpm2", "--tpmstate", dir, "--create-ek-cert", "--config", join(dir, "setup.conf"), "--overwrite"], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`swtpm_setup failed (${r.status}): ${r.stderr}${r.stdout}`);
  return { root: join(ca, "swtpm-localca-rootca-cert.pem"), issuer: join(ca, "issuercert.pem") };
}

export async function startSoftwareTpm(o: { ekCert?: boolean } = {}): Promise<SoftwareTpm & { ekCa?: EkCa }> {
  const dir = mkdtempSync(join(tmpdir(), "meridian-swtpm-"));
  const ekCa = o.ekCert ? manufacture(dir) : undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if (!(await canBind(port)) || !(await canBind(port + 1))) continue;
    const child = await launch(dir, port);
    if (!child) continue;
    const env = { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=127.0.0.1,port=${port}` };
    const run = (name: string, args: string[]) => {
      const r = spawnSync(name, args, { cwd: dir, env, encoding: "utf8", timeout: 60_000 });
      spawnSync("tpm2_flushcontext", ["-t"], { cwd: dir, env, timeout: 60_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    return {
      dir,
      port,
      ...(ekCa ? { ekCa } : {}),
      try: run,
      tool(name, args) {
        const r = run(name, args);
        if (r.status !== 0) throw new Error(`${name} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
        return r.stdout;
      },
      stop() {
        child.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error("no free pair of loopback ports for swtpm after 20 attempts");
}

/** An operator's attester set-up: an EK, an AK of the given kind, its PEM, and the names of its files. */
export function createAk(tpm: SoftwareTpm, name: string, kind: "rsa" | "ecc"): { ctx: string; pem: string } {
  if (!existsSync(join(tpm.dir, "ek.ctx"))) tpm.tool("tpm2_createek", ["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"]);
  tpm.tool("tpm2_createak", ["-C", "ek.ctx", "-c", `${name}.ctx`, "-G", kind, "-g", "sha256", "-s", kind === "rsa" ? "rsassa" : "ecdsa", "-u", `${name}.pub`, "-n", `${name}.name`]);
  tpm.tool("tpm2_readpublic", ["-c", `${name}.ctx`, "-f", "pem", "-o", `${name}.pem`]);
  return { ctx: `${name}.ctx`, pem: join(tpm.dir, `${name}.pem`) };
}

export interface QuoteFiles {
  message: string;
  signature: string;
  pcrs: string;
}

/** `tpm2_quote -c AK -l sha256:0,1,2,16 -q NONCE -m -s -o -g sha256` into files named after `name`. */
export function quote(tpm: SoftwareTpm, akCtx: string, nonceHex: string, name: string, extra: string[] = []): QuoteFiles {
  tpm.tool("tpm2_quote", ["-c", akCtx, "-l", "sha256:0,1,2,16", "-q", nonceHex, "-m", `${name}.msg`, "-s", `${name}.sig`, "-o", `${name}.pcrs`, "-g", "sha256", ...extra]);
  return { message: join(tpm.dir, `${name}.msg`), signature: join(tpm.dir, `${name}.sig`), pcrs: join(tpm.dir, `${name}.pcrs`) };
}

/** The measurement both attestation test files put on the node: one event extended into PCR 16. */
export const MEASURED_EVENT = createHash("sha256").update("meridian node image v1").digest("hex");
export const ZERO_PCR = "00".repeat(32);
/** What the measured node must show: PCRs 0-2 untouched on swtpm (no firmware), PCR 16 = SHA-256(0³² ‖ event). */
export const MEASURED_PCR16 = createHash("sha256")
  .update(Buffer.concat([Buffer.alloc(32), Buffer.from(MEASURED_EVENT, "hex")]))
  .digest("hex");

/** Extend the event into PCR 16 and write the reference values a verifier takes; returns the reference file. */
export function measureNode(tpm: SoftwareTpm): string {
  tpm.tool("tpm2_pcrextend", [`16:sha256=${MEASURED_EVENT}`]);
  const reference = join(tpm.dir, "reference.json");
  writeFileSync(reference, JSON.stringify({ sha256: { "0": ZERO_PCR, "1": ZERO_PCR, "2": ZERO_PCR, "16": MEASURED_PCR16 } }));
  return reference;
}

/**
 * The attester's side of enrolment, as an operator runs it: tpm2_activatecredential with the AK and the EK. The
 * low-range EKs (`tpm2_createek`) need an EK policy session; the high-range ECC EK swtpm_setup provisions at
 * 0x81010016 has userWithAuth, so its empty password will do (`policy: false`).
 */
export function activateCredential(
  tpm: SoftwareTpm,
  credential: Buffer,
  name: string,
  o: { ak?: string; ek?: string; policy?: boolean } = {},
): { status: number | null; secret?: Buffer; stderr: string } {
  writeFileSync(join(tpm.dir, `${name}.cred`), credential);
  const policy = o.policy ?? true;
  if (policy) {
    tpm.tool("tpm2_startauthsession", ["--policy-session", "-S", `${name}.session`]);
    tpm.tool("tpm2_policysecret", ["-S", `${name}.session`, "-c", "e"]);
  }
  const r = tpm.try("tpm2_activatecredential", ["-c", o.ak ?? "ak.ctx", "-C", o.ek ?? "ek.ctx", "-i", `${name}.cred`, "-o", `${name}.secret`, ...(policy ? ["-P", `session:${name}.session`] : [])]);
  if (policy) tpm.try("tpm2_flushcontext", [`${name}.session`]);
  return { status: r.status, stderr: r.stderr, ...(r.status === 0 ? { secret: readFileSync(join(tpm.dir, `${name}.secret`)) } : {}) };
}
