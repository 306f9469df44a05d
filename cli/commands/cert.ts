/**
 * `meridian cert committee|issue|sync`: checkpoint certificate chains (runtime/certchain). `committee` makes member
 * keys and a committee file; `issue` signs the next certificate (or a genesis one) with member keys; `sync` runs a
 * light client from a checkpoint certificate through the given certificates and prints its head — exit 1 naming
 * the refusal (forged signature, missing quorum, broken chain, hand-over not signed by the old quorum, equivocation,
 * whose evidence --evidence writes).
 */
import type { Command } from "commander";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { UserError } from "../errors.js";
import { readJsonFile } from "../../runtime/common/json-file.js";

const usage = (m: string) => new UserError(m);

const int = (v: string, what: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new UserError(`${what} ${v}: expected a positive integer`);
  return n;
};

export function register(program: Command): void {
  const cert = program.command("cert").description("checkpoint certificate chains: committees, quorum-signed certificates, a light client with hand-over and equivocation evidence");

  cert
    .command("committee")
    .description("make N member keys (OUTDIR/member-I.key, mode 0600) and OUTDIR/committee.json with the quorum")
    .argument("<outdir>")
    .requiredOption("--members <n>", "committee size")
    .requiredOption("--quorum <q>", "signatures a certificate needs (more than two thirds of the members)")
    .action(async (dir: string, o: { members: string; quorum: string }) => {
      const { CertError, checkCommittee, memberKey } = await import("../../runtime/certchain/index.js");
      const n = int(o.members, "--members");
      const seeds = Array.from({ length: n }, () => randomBytes(32));
      const committee = { members: seeds.map((s) => memberKey(s).publicKey), quorum: int(o.quorum, "--quorum") };
      try {
        checkCommittee(committee);
      } catch (e) {
        if (e instanceof CertError) throw new UserError(`--quorum: ${e.message}`);
        throw e;
      }
      mkdirSync(dir, { recursive: true });
      seeds.forEach((s, i) => writeFileSync(join(dir, `member-${i}.key`), `${s.toString("hex")}\n`, { mode: 0o600 }));
      writeFileSync(join(dir, "committee.json"), `${JSON.stringify(committee, null, 2)}\n`);
      process.stdout.write(`${join(dir, "committee.json")}: ${n} members, quorum ${committee.quorum}\n`);
    });

  cert
    .command("issue")
    .description("print a certificate (JSON) for --root after --parent (or --genesis), signed by the --signer member keys")
    .requiredOption("--root <hex>", "the root the certificate finalises (32 bytes, lower-case hex)")
    .requiredOption("--committee <file>", "the committee that signs it")
    .requiredOption("--signer <keys...>", "member key files")
    .option("--parent <cert>", "the parent certificate file")
    .option("--genesis", "a first certificate (height 0)")
    .option("--next <file>", "hand over to this committee")
    .action(async (o: { root: string; committee: string; signer: string[]; parent?: string; genesis?: boolean; next?: string }) => {
      const { certHash, CertificateJson, CommitteeJson, GENESIS_PARENT, issue, memberKey } = await import("../../runtime/certchain/index.js");
      const root = o.root;
      if (!/^[0-9a-f]{64}$/.test(root)) throw new UserError(`--root ${root}: expected 32 bytes of lower-case hex`);
      if ((o.parent === undefined) === (o.genesis !== true)) throw new UserError("give --parent or --genesis");
      const committee = readJsonFile(o.committee, "a committee (--committee)", CommitteeJson, usage);
      const parent = o.parent === undefined ? undefined : readJsonFile(o.parent, "a certificate (--parent)", CertificateJson, usage);
      const signers = o.signer.map((f) => {
        const key = memberKey(Buffer.from(readFileSync(f, "utf8").trim(), "hex"));
        const index = committee.members.indexOf(key.publicKey);
        if (index < 0) throw new UserError(`--signer ${f}: not a member of the committee`);
        return { index, key };
      });
      const next = o.next === undefined ? undefined : readJsonFile(o.next, "a committee (--next)", CommitteeJson, usage);
      const body = { height: parent === undefined ? 0 : parent.height + 1, parent: parent === undefined ? GENESIS_PARENT : certHash(parent), root, ...(next ? { next } : {}) };
      process.stdout.write(`${JSON.stringify(issue(body, committee, signers))}\n`);
    });

  cert
    .command("sync")
    .description("follow CERTS from the CHECKPOINT certificate (trusted under --committee); print the head, exit 1 naming a refusal")
    .argument("<checkpoint>", "checkpoint certificate file")
    .argument("[certs...]", "the following certificates in order")
    .requiredOption("--committee <file>", "the committee trusted for the checkpoint certificate")
    .option("--evidence <file>", "write equivocation evidence here when a fork is found")
    .action(async (checkpoint: string, certs: string[], o: { committee: string; evidence?: string }) => {
      const { CertError, CertificateJson, CommitteeJson, LightClient } = await import("../../runtime/certchain/index.js");
      const committee = readJsonFile(o.committee, "a committee (--committee)", CommitteeJson, usage);
      // Every file is read and checked first: a malformed one is a usage error, not a refusal midway.
      const checkpointCert = readJsonFile(checkpoint, "a certificate (CHECKPOINT)", CertificateJson, usage);
      const chain = certs.map((f) => ({ f, cert: readJsonFile(f, "a certificate", CertificateJson, usage) }));
      let lc: InstanceType<typeof LightClient> | undefined;
      try {
        lc = new LightClient(checkpointCert, committee);
        for (const { f, cert } of chain) {
          try {
            lc.accept(cert);
          } catch (e) {
            if (e instanceof CertError) throw new CertError(`${f}: ${e.message}`);
            throw e;
          }
        }
      } catch (e) {
        if (!(e instanceof CertError)) throw e;
        const evidence = lc?.evidence ?? [];
        if (evidence.length > 0 && o.evidence !== undefined) writeFileSync(o.evidence, `${JSON.stringify(evidence)}\n`);
        process.stderr.write(`meridian: refused: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`head ${lc.head.height} ${lc.head.root} (final; committee of ${lc.head.committee.members.length}, quorum ${lc.head.committee.quorum})\n`);
    });
}
