/**
 * `meridian audit commit|disclose|verify`: compliance proofs with selective disclosure (runtime/compliance). A record
 * is committed as Merkle-salted fields, its issuer-signed statement appended to a proof log; a disclosure carries
 * only the fields a policy allows, and an auditor verifies it against the log key and the issuer key alone.
 * `meridian audit sumtree build|verify`: a Merkle-sum tree proof that escrow regions' sold counts add up.
 */
import type { Command } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { numberArg } from "../args.js";
import { UserError } from "../errors.js";
import { readKeyArg } from "./note.js";
import { readJsonFile } from "../../runtime/common/json-file.js";

const compliance = () => import("../../runtime/compliance/index.js");

async function verifiers(vkeys: string[], what: string) {
  const { newVerifier } = await import("../../runtime/prooflog/index.js");
  try {
    return vkeys.map((v) => newVerifier(readKeyArg(v, what)));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${what}: ${(e as Error).message}`);
  }
}

/** A refusal (the proof does not hold) exits 1 with the reason; a ComplianceError while building is the user's (2). */
async function refuse(e: unknown): Promise<void> {
  if (!(e instanceof (await compliance()).ComplianceError)) throw e;
  process.stderr.write(`meridian: audit: refused: ${e.message}\n`);
  process.exitCode = 1;
}

async function user<T>(f: () => T | Promise<T>): Promise<T> {
  const { ComplianceError } = await compliance();
  try {
    return await f();
  } catch (e) {
    if (e instanceof ComplianceError) throw new UserError(e.message);
    throw e;
  }
}

const out = (file: string | undefined, json: unknown) => {
  const text = `${JSON.stringify(json, null, 2)}\n`;
  if (file) writeFileSync(file, text, { mode: 0o600 });
  else process.stdout.write(text);
};

export function register(program: Command): void {
  const audit = program.command("audit").description("compliance proofs: selectively disclosed audit records in a proof log, and Merkle-sum allocation proofs");

  audit
    .command("commit")
    .description("commit a record ({id, fields}) as Merkle-salted fields, sign its statement and append it to the proof log; writes the opening (secret)")
    .requiredOption("--record <file>", 'record JSON: {"id": "…", "fields": {"name": value, …}} (values: string, number, boolean, null)')
    .requiredOption("--issuer-key <file>", "file holding the issuer's signer key (meridian note keygen)")
    .requiredOption("--log <url>", "proof log base URL")
    .requiredOption("--out <file>", "where to write the opening: every field with its salt (keep it private)")
    .action(async (o: { record: string; issuerKey: string; log: string; out: string }) => {
      const { RecordInput, commitRecord, appendStatement } = await compliance();
      const record = readJsonFile(o.record, "an audit record", RecordInput, (m) => new UserError(m));
      const key = readKeyArg(o.issuerKey, "--issuer-key");
      const opening = await user(() => commitRecord(record, key));
      opening.logIndex = await appendStatement(o.log, opening.statement);
      out(o.out, opening);
      process.stdout.write(`committed record ${opening.id} (${opening.fields.length} fields) at log index ${opening.logIndex}\n`);
    });

  audit
    .command("disclose")
    .description("write a disclosure of the fields POLICY allows, with the statement's inclusion proof under the log's current checkpoint")
    .requiredOption("--opening <file>", "the opening written by audit commit")
    .requiredOption("--policy <file>", 'disclosure policy JSON: {"allow": ["field", …]}')
    .requiredOption("--log <url>", "proof log base URL")
    .option("--out <file>", "write here instead of stdout")
    .option("--wait <ms>", "wait this long for a checkpoint covering the statement", "10000")
    .action(async (o: { opening: string; policy: string; log: string; out?: string; wait: string }) => {
      const { Opening, Policy, disclose, fetchLogProof } = await compliance();
      const opening = readJsonFile(o.opening, "an audit opening", Opening, (m) => new UserError(m));
      const policy = readJsonFile(o.policy, "a disclosure policy", Policy, (m) => new UserError(m));
      if (opening.logIndex === undefined) throw new UserError(`${o.opening}: the opening has no logIndex (was it appended with audit commit?)`);
      if (!/^[0-9]+$/.test(o.wait)) throw new UserError(`--wait "${o.wait}" must be a number of milliseconds`);
      const log = await user(() => fetchLogProof(o.log, opening.logIndex!, Number(o.wait)));
      out(o.out, await user(() => disclose(opening, policy, log)));
    });

  audit
    .command("verify")
    .description("verify a disclosure as an auditor: log checkpoint signature, statement inclusion, issuer signature, each field's inclusion, the policy (exit 1 if refused)")
    .requiredOption("--disclosure <file>", "the disclosure")
    .requiredOption("--policy <file>", 'the policy the auditor holds: {"allow": ["field", …]}')
    .requiredOption("--log-vkey <vkey...>", "the proof log's verifier key (or a file holding it); repeatable")
    .requiredOption("--issuer-vkey <vkey...>", "the issuer's verifier key (or a file holding it); repeatable")
    .option("--origin <origin>", "the log's expected checkpoint origin")
    .action(async (o: { disclosure: string; policy: string; logVkey: string[]; issuerVkey: string[]; origin?: string }) => {
      const { Disclosure, Policy, verifyDisclosure } = await compliance();
      const d = readJsonFile(o.disclosure, "an audit disclosure", Disclosure, (m) => new UserError(m));
      const policy = readJsonFile(o.policy, "a disclosure policy", Policy, (m) => new UserError(m));
      const opts = { logVerifiers: await verifiers(o.logVkey, "--log-vkey"), issuers: await verifiers(o.issuerVkey, "--issuer-vkey"), policy, origin: o.origin };
      try {
        out(undefined, { accepted: true, ...verifyDisclosure(d, opts) });
      } catch (e) {
        await refuse(e);
      }
    });
  const sumtree = audit.command("sumtree").description("Merkle-sum tree proof that escrow regions sold within their allocations and the totals are the published ones");

  sumtree
    .command("build")
    .description("build the tree from regions' sold counts and allocations: OUTDIR/root.json (publish it) and OUTDIR/proof-<region>.json (one per region)")
    .requiredOption("--input <file>", 'JSON: {"capacity": N, "regions": [{"region": "eu-west", "sold": N, "allocation": N}, …]}')
    .argument("<outdir>", "directory to write (created if absent)")
    .action(async (outdir: string, o: { input: string }) => {
      const { SumTreeInput, buildSumTree, sumProofJson, sumRootJson } = await compliance();
      const input = readJsonFile(o.input, "a sum-tree input", SumTreeInput, (m) => new UserError(m));
      const { root, proofs } = await user(() => buildSumTree(input.regions, input.capacity));
      mkdirSync(outdir, { recursive: true });
      writeFileSync(join(outdir, "root.json"), `${JSON.stringify(sumRootJson(root), null, 2)}\n`);
      for (const p of proofs) writeFileSync(join(outdir, `proof-${p.region}.json`), `${JSON.stringify(sumProofJson(p), null, 2)}\n`);
      process.stdout.write(
        `${root.regions} regions: sold ${root.sold} of allocation ${root.allocation}${root.capacity === undefined ? "" : ` (capacity ${root.capacity})`}; root ${sumRootJson(root).root}\n`,
      );
    });

  sumtree
    .command("verify")
    .description("a region checks its leaf up to the published root, and the root's totals (exit 1 if refused)")
    .requiredOption("--root <file>", "the published root.json")
    .requiredOption("--proof <file>", "this region's proof-<region>.json")
    .option("--sold <n>", "the region's own sold count: the proof must say the same", numberArg("--sold", 0, Number.MAX_SAFE_INTEGER, true))
    .option("--allocation <n>", "the region's own allocation: the proof must say the same", numberArg("--allocation", 0, Number.MAX_SAFE_INTEGER, true))
    .action(async (o: { root: string; proof: string; sold?: number; allocation?: number }) => {
      const { SumRootJson, SumProofJson, verifySumProof } = await compliance();
      const root = readJsonFile(o.root, "a sum-tree root", SumRootJson, (m) => new UserError(m));
      const proof = readJsonFile(o.proof, "a sum-tree proof", SumProofJson, (m) => new UserError(m));
      try {
        out(undefined, { accepted: true, ...verifySumProof(proof, root, { sold: o.sold, allocation: o.allocation }) });
      } catch (e) {
        await refuse(e);
      }
    });
}
