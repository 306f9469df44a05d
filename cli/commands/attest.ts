/**
 * `meridian attest nonce|verify|appraise|reference|key|serve`: the remote-attestation verifier (IETF RATS) for TPM 2.0 quotes made
 * with the standard tools (`tpm2_quote -m/-s/-o`, `tpm2_readpublic -f pem`) AMD SEV-SNP reports (`--format sev-snp`) and AWS Nitro Enclaves attestation documents (`--format nitro`). `nonce` and `verify` share a state
 * directory (--state, else $MERIDIAN_ATTEST_STATE, else $XDG_STATE_HOME/meridian/attest, ~/.local/state by default) holding the issued
 * nonces and the verifier's signing key. `verify` exits 0 only when the quote is accepted, 1 when it is refused
 * (the reason on stderr, the signed result on stdout), 2 on a usage mistake.
 */
import type { Command } from "commander";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { numberArg } from "../args.js";

function stateDir(flag: string | undefined): string {
  const dir = flag ?? process.env.MERIDIAN_ATTEST_STATE ?? join(process.env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "meridian", "attest");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The verifier's signer key: --key FILE, else `<state>/verifier.key`, made on first use. */
async function signerKey(dir: string, keyFile: string | undefined): Promise<string> {
  const { readKeyArg } = await import("./note.js");
  if (keyFile) {
    if (!existsSync(keyFile)) throw new UserError(`--key: no file ${keyFile}`);
    return readKeyArg(keyFile, "--key");
  }
  const path = join(dir, "verifier.key");
  if (!existsSync(path)) {
    const { generateKey } = await import("../../runtime/prooflog/index.js");
    const keys = generateKey("meridian-attest");
    try {
      writeFileSync(path, `${keys.signerKey}\n`, { flag: "wx", mode: 0o600 });
      writeFileSync(join(dir, "verifier.pub"), `${keys.verifierKey}\n`, { mode: 0o644 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e; // another process made it first: use theirs
    }
  }
  return readKeyArg(path, "verifier key");
}

function readInput(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UserError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
}

interface EvidenceOptions {
  format: string;
  ak?: string;
  message?: string;
  signature?: string;
  pcrs?: string;
  root?: string;
  report?: string;
  vcek?: string;
  chain?: string;
  document?: string;
  reference: string;
}

/** The flags each format's evidence and endorsement come in. */
const FORMAT_FLAGS: Record<string, { endorsement: "ak" | "root"; parts: ("message" | "signature" | "pcrs" | "report" | "vcek" | "chain" | "document")[]; reference: string }> = {
  tpm: { endorsement: "ak", parts: ["message", "signature", "pcrs"], reference: '{"sha256": {"0": "hex", …}}' },
  "sev-snp": { endorsement: "root", parts: ["report", "vcek", "chain"], reference: '{"measurement": "hex (48 bytes)", …}' },
  nitro: { endorsement: "root", parts: ["document"], reference: '{"pcrs": {"0": "hex (48 bytes)", …}}' },
};

/** Read the evidence files, the endorsement and the reference values a format needs, naming a missing flag. */
async function evidenceInput(o: EvidenceOptions): Promise<{ evidence: Record<string, Buffer>; endorsement: string; reference: unknown }> {
  const flags = FORMAT_FLAGS[o.format];
  if (!flags) throw new UserError(`--format: got "${o.format}"; expected one of ${Object.keys(FORMAT_FLAGS).join(", ")}`);
  const missing = [flags.endorsement, ...flags.parts].filter((f) => o[f] === undefined);
  if (missing.length) throw new UserError(`--format ${o.format} needs ${missing.map((f) => `--${f}`).join(", ")}`);
  const { evidenceFormat } = await import("../../runtime/attest/index.js");
  let referenceJson: unknown;
  try {
    referenceJson = JSON.parse(readInput("--reference", o.reference).toString("utf8"));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`--reference ${o.reference}: not JSON (${(e as Error).message}); expected ${flags.reference}`);
  }
  const ref = evidenceFormat(o.format).reference.safeParse(referenceJson);
  if (!ref.success) throw new UserError(`--reference ${o.reference}: ${ref.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")}; expected ${flags.reference}`);
  const evidence = Object.fromEntries(flags.parts.map((p) => [p, readInput(`--${p}`, o[p]!)]));
  return { evidence, endorsement: readInput(`--${flags.endorsement}`, o[flags.endorsement]!).toString("utf8"), reference: ref.data };
}

interface VerifyOptions extends EvidenceOptions {
  nonce: string;
  node?: string;
  state?: string;
  key?: string;
}

async function verify(o: VerifyOptions): Promise<void> {
  const { FileNonceBook, QuoteFormatError, verifyAttestation } = await import("../../runtime/attest/index.js");
  const { systemClock } = await import("../../runtime/common/clock.js");
  const { evidence, endorsement, reference } = await evidenceInput(o);
  const dir = stateDir(o.state);
  const skey = await signerKey(dir, o.key);
  let verified;
  try {
    verified = await verifyAttestation(
      { format: o.format, evidence, endorsement, nonce: o.nonce, reference, node: o.node },
      { nonces: new FileNonceBook(dir, systemClock), signerKey: skey, clock: systemClock },
    );
  } catch (e) {
    if (e instanceof QuoteFormatError) {
      const flag = `--${FORMAT_FLAGS[o.format]!.endorsement}`;
      throw new UserError(e.message.startsWith("nonce") ? `--${e.message}` : `${flag} ${o[FORMAT_FLAGS[o.format]!.endorsement]}: ${e.message}`);
    }
    throw e;
  }
  process.stdout.write(`${JSON.stringify({ ...verified.result, signedResult: verified.note }, null, 2)}\n`);
  if (!verified.result.accepted) {
    process.stderr.write(`meridian attest verify: refused: ${verified.result.reason}\n`);
    process.exitCode = 1;
  }
}

/** Appraise evidence without the verifier's nonce book: for published samples and evidence whose freshness is known otherwise. */
async function appraise(o: EvidenceOptions & { reportData: string; at?: string }): Promise<void> {
  // SEV-SNP's REPORT_DATA is 64 bytes; a Nitro document's nonce up to 1024. The format checks its own size.
  if (!/^(?:[0-9a-fA-F]{2}){0,1024}$/.test(o.reportData)) throw new UserError(`--report-data: got "${o.reportData.slice(0, 40)}…"; expected hex, at most 1024 bytes`);
  const at = o.at === undefined ? Date.now() : Date.parse(o.at);
  if (!Number.isFinite(at) || (o.at !== undefined && !/^\d{4}-\d{2}-\d{2}T/.test(o.at))) throw new UserError(`--at: got "${o.at}"; expected an ISO 8601 time, e.g. 2024-09-07T14:37:40Z`);
  const { evidenceFormat, QuoteFormatError } = await import("../../runtime/attest/index.js");
  const { evidence, endorsement, reference } = await evidenceInput(o);
  const format = evidenceFormat(o.format);
  let appraisal;
  try {
    appraisal = format.appraise({ evidence, endorsement: format.endorsement(endorsement), nonce: Buffer.from(o.reportData, "hex"), reference, now: at });
  } catch (e) {
    if (e instanceof QuoteFormatError) throw new UserError(`--${FORMAT_FLAGS[o.format]!.endorsement}: ${e.message}`);
    throw e;
  }
  process.stdout.write(
    `${JSON.stringify({ format: o.format, freshness: "not established: --report-data is the caller's, not a verifier nonce", ...(o.at !== undefined ? { appraisedAt: new Date(at).toISOString() } : {}), ...appraisal }, null, 2)}\n`,
  );
  if (!appraisal.accepted) {
    process.stderr.write(`meridian attest appraise: refused: ${appraisal.reason}\n`);
    process.exitCode = 1;
  }
}

interface ServeOptions {
  config: string;
  port?: number;
  host?: string;
  log?: string;
  key?: string;
  postgres?: string;
}

async function serve(o: ServeOptions): Promise<void> {
  if (o.log && !/^https?:\/\//.test(o.log)) throw new UserError(`--log: got "${o.log}"; expected the proof log's base URL, e.g. http://127.0.0.1:7300`);
  if (o.postgres && !/^postgres(ql)?:\/\//.test(o.postgres)) throw new UserError(`--postgres: got "${o.postgres}"; expected postgres://user@host:port/db`);
  const { runService } = await import("../../runtime/kit/index.js");
  const { attestService } = await import("../../runtime/attest/index.js");
  await runService(attestService, {
    command: "meridian attest serve",
    configFile: o.config,
    // The store URL comes as a flag (the kubelet expands it from the pod's env); the config file may name its schema.
    overrides: { server: { port: o.port, host: o.host }, log: o.log, key: o.key, ...(o.postgres ? { store: { postgres: o.postgres } } : {}) },
  });
}

export function register(program: Command): void {
  const attest = program.command("attest").description("remote attestation of TPM 2.0 quotes (IETF RATS verifier): nonces, appraisal, signed results");
  const stateHelp = "state directory (issued nonces, the verifier key); default $MERIDIAN_ATTEST_STATE, else $XDG_STATE_HOME/meridian/attest (~/.local/state/meridian/attest)";
  attest
    .command("nonce")
    .description("print a fresh verifier nonce (hex, for tpm2_quote -q) and remember it: single use, expiring")
    .option("--state <dir>", stateHelp)
    .option("--ttl <seconds>", "how long the nonce stays valid", numberArg("--ttl", 1, 86_400), 300)
    .action(async (o: { state?: string; ttl: number }) => {
      const { FileNonceBook } = await import("../../runtime/attest/index.js");
      const { systemClock } = await import("../../runtime/common/clock.js");
      process.stdout.write(`${new FileNonceBook(stateDir(o.state), systemClock).issue(o.ttl * 1000).nonce}\n`);
    });
  const evidenceFlags = (c: Command) =>
    c
      .option("--format <name>", "the evidence format: tpm (a tpm2_quote), sev-snp (an AMD SEV-SNP attestation report) or nitro (an AWS Nitro Enclaves attestation document)", "tpm")
      .option("--ak <file>", "tpm: the attestation key's public key (tpm2_readpublic -f pem)")
      .option("--message <file>", "tpm: the quoted TPMS_ATTEST (tpm2_quote -m)")
      .option("--signature <file>", "tpm: the signature (tpm2_quote -s; tss or plain format)")
      .option("--pcrs <file>", "tpm: the PCR values (tpm2_quote -o, with -g sha256)")
      .option("--root <file>", "sev-snp: AMD's root (ARK) for the product line, PEM (the KDS ask_ark_<product>.pem); nitro: the AWS Nitro Enclaves root, PEM (root.pem)")
      .option("--document <file>", "nitro: the attestation document (COSE_Sign1, as the NSM returns it)")
      .option("--report <file>", "sev-snp: the 1184-byte attestation report (SNP_GET_REPORT)")
      .option("--vcek <file>", "sev-snp: the chip's VCEK certificate (DER or PEM, from the AMD KDS)")
      .option("--chain <file>", "sev-snp: the ASK (and ARK) certificates, PEM (the KDS cert_chain)")
      .requiredOption("--reference <file>", 'reference values, JSON: tpm {"sha256": {"0": "hex", …}}; sev-snp {"measurement": "hex", …}; nitro {"pcrs": {"0": "hex", …}}');
  evidenceFlags(
    attest
      .command("verify")
      .description(
        "appraise evidence (a tpm2_quote, an SEV-SNP report) with the verifier's nonce: signatures, chain, nonce, reference values, freshness; print the signed result; exit 0 only if accepted",
      ),
  )
    .requiredOption("--nonce <hex>", "the nonce `meridian attest nonce` printed (given to tpm2_quote -q, or as the TEE report's report data)")
    .option("--node <id>", "the attester's name, recorded in the result")
    .option("--state <dir>", stateHelp)
    .option("--key <file>", "the verifier's note signer key (default: <state>/verifier.key, made on first use)")
    .action(verify);
  evidenceFlags(
    attest.command("appraise").description("appraise evidence against --report-data instead of a verifier nonce (published samples; no freshness, unsigned); exit 0 only if every check passes"),
  )
    .requiredOption("--report-data <hex>", "the nonce or report data the evidence must carry")
    .option("--at <time>", "appraise at this time (ISO 8601) instead of now: certificates are checked as of then (a stored sample's short-lived certificates were valid when it was made)")
    .action(appraise);
  attest
    .command("reference")
    .description("print reference values (JSON for verify --reference) from a known-good node's PCR values file (tpm2_quote -o)")
    .requiredOption("--pcrs <file>", "the PCR values file of a quote from a node in its known-good state")
    .action(async (o: { pcrs: string }) => {
      const { parsePcrValues, QuoteFormatError } = await import("../../runtime/attest/index.js");
      try {
        const { values } = parsePcrValues(readInput("--pcrs", o.pcrs));
        const ref = Object.fromEntries(Object.entries(values).map(([bank, pcrs]) => [bank, Object.fromEntries(Object.entries(pcrs).map(([i, v]) => [i, v.toString("hex")]))]));
        process.stdout.write(`${JSON.stringify(ref, null, 2)}\n`);
      } catch (e) {
        if (e instanceof QuoteFormatError) throw new UserError(`--pcrs ${o.pcrs}: ${e.message}`);
        throw e;
      }
    });
  attest
    .command("key")
    .description("print the verifier key relying parties check attestation results with")
    .option("--state <dir>", stateHelp)
    .option("--key <file>", "the verifier's note signer key (default: <state>/verifier.key)")
    .action(async (o: { state?: string; key?: string }) => {
      const { verifierKeyOf } = await import("../../runtime/prooflog/index.js");
      process.stdout.write(`${verifierKeyOf(await signerKey(stateDir(o.state), o.key))}\n`);
    });
  attest
    .command("serve")
    .description("serve the attestation verifier over HTTP (nonce, verify, latest result per node), logging results in the proof log")
    .requiredOption("--config <file>", "the verifier's config: key, nodes (endorsed AK + reference values per node), log, store (where enrolments and revocations survive restarts)")
    .option("--port <port>", "listen port (0 = ephemeral)", numberArg("--port", 0, 65535, true))
    .option("--host <host>", "listen address")
    .option("--log <url>", "the proof log's base URL: append every result")
    .option("--key <file>", "the verifier's note signer key (overrides the config's key)")
    .option("--postgres <url>", "keep the registry in PostgreSQL (overrides the config's store URL; the config's store.schema still applies)")
    .action(serve);
}
