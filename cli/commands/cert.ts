/**
 * `meridian cert committee|issue|sync`: checkpoint certificate chains (runtime/certchain). `committee` makes member
 * keys and a committee file; `issue` signs the next certificate (or a genesis one) with member keys; `sync` runs a
 * light client from a checkpoint certificate through the given certificates and prints its head — exit 1 naming
 * the refusal (forged signature, missing quorum, broken chain, hand-over not signed by the old quorum, equivocation,
 * whose evidence --evidence writes). A certificate may certify a proof-log checkpoint (`issue --checkpoint`); `sync
 * --log URL --index N` then proves an entry's inclusion against the certified checkpoint. `serve` holds the chain
 * over HTTP (runtime/certchain/service.ts) and `sync --from URL` fast-syncs from it.
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
    .option("--root <hex>", "the root the certificate finalises (32 bytes, lower-case hex)")
    .option("--checkpoint <file>", "certify this proof-log checkpoint (a signed note from `log serve`'s /checkpoint, or its body) instead of --root")
    .requiredOption("--committee <file>", "the committee that signs it")
    .requiredOption("--signer <keys...>", "member key files, or for a group committee (a group.json) share files of the group")
    .option("--parent <cert>", "the parent certificate file")
    .option("--genesis", "a first certificate (height 0)")
    .option("--next <file>", "hand over to this committee")
    .action(async (o: { root?: string; checkpoint?: string; committee: string; signer: string[]; parent?: string; genesis?: boolean; next?: string }) => {
      const { CertError, certBody, certHash, CertificateJson, checkpointBody, checkpointDigest, CommitteeJson, GENESIS_PARENT, isGroup, issue, issueThreshold, memberKey, unsignedCertificate } =
        await import("../../runtime/certchain/index.js");
      if ((o.root === undefined) === (o.checkpoint === undefined)) throw new UserError("give --root or --checkpoint");
      let checkpoint: string | undefined;
      if (o.checkpoint !== undefined) {
        let text: string;
        try {
          text = readFileSync(o.checkpoint, "utf8");
        } catch (e) {
          throw new UserError(`--checkpoint ${o.checkpoint}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        try {
          checkpoint = checkpointBody(text);
        } catch (e) {
          if (e instanceof CertError) throw new UserError(`--checkpoint ${o.checkpoint}: ${e.message}`);
          throw e;
        }
      }
      const root = checkpoint === undefined ? o.root! : checkpointDigest(checkpoint);
      if (!/^[0-9a-f]{64}$/.test(root)) throw new UserError(`--root ${root}: expected 32 bytes of lower-case hex`);
      if ((o.parent === undefined) === (o.genesis !== true)) throw new UserError("give --parent or --genesis");
      const committee = readJsonFile(o.committee, "a committee (--committee)", CommitteeJson, usage);
      const parent = o.parent === undefined ? undefined : readJsonFile(o.parent, "a certificate (--parent)", CertificateJson, usage);
      const next = o.next === undefined ? undefined : readJsonFile(o.next, "a committee (--next)", CommitteeJson, usage);
      const body = {
        height: parent === undefined ? 0 : parent.height + 1,
        parent: parent === undefined ? GENESIS_PARENT : certHash(parent),
        root,
        ...(next ? { next } : {}),
        ...(checkpoint === undefined ? {} : { checkpoint }),
      };
      if (isGroup(committee)) {
        // A group committee: --signer names share files; each signs the body, and t partials combine into one signature.
        const { partialSign, readGroup, readShare, ThresholdError } = await import("../../runtime/tbls/index.js");
        try {
          const unsigned = unsignedCertificate(body, committee);
          const partials = o.signer.map((f) => partialSign(certBody(unsigned), readShare(f)));
          process.stdout.write(`${JSON.stringify(issueThreshold(unsigned, committee, readGroup(o.committee).commitments, partials))}\n`);
        } catch (e) {
          if (e instanceof CertError || e instanceof ThresholdError) throw new UserError(e.message);
          throw e;
        }
        return;
      }
      const members = committee;
      const signers = o.signer.map((f) => {
        const key = memberKey(Buffer.from(readFileSync(f, "utf8").trim(), "hex"));
        const index = members.members.indexOf(key.publicKey);
        if (index < 0) throw new UserError(`--signer ${f}: not a member of the committee`);
        return { index, key };
      });
      process.stdout.write(`${JSON.stringify(issue(body, committee, signers))}\n`);
    });

  cert
    .command("sync")
    .description("follow CERTS from the CHECKPOINT certificate (trusted under --committee); print the head, exit 1 naming a refusal")
    .argument("<checkpoint>", "checkpoint certificate file")
    .argument("[certs...]", "the following certificates in order")
    .requiredOption("--committee <file>", "the committee trusted for the checkpoint certificate")
    .option("--evidence <file>", "write equivocation evidence here when a fork is found")
    .option("--from <url>", "then fast-sync from `meridian cert serve` at this URL (its certificates are verified here, not trusted)")
    .option("--log <url>", "then prove entry --index of this proof log against the log checkpoint the head certifies")
    .option("--index <n>", "with --log: the entry to prove")
    .option("--origin <origin>", "with --log: the log origin the certified checkpoint must name")
    .action(async (checkpoint: string, certs: string[], o: { committee: string; evidence?: string; from?: string; log?: string; index?: string; origin?: string }) => {
      if ((o.log === undefined) !== (o.index === undefined)) throw new UserError("--log and --index go together");
      const index = o.index === undefined ? undefined : /^[0-9]{1,15}$/.test(o.index) ? Number(o.index) : NaN;
      if (Number.isNaN(index)) throw new UserError(`--index ${o.index}: expected a non-negative integer`);
      const { CertError, CertificateJson, CommitteeJson, describeCommittee, LightClient, syncFrom } = await import("../../runtime/certchain/index.js");
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
        if (o.from !== undefined) await syncFrom(o.from, lc);
      } catch (e) {
        if (!(e instanceof CertError)) throw e;
        const evidence = lc?.evidence ?? [];
        if (evidence.length > 0 && o.evidence !== undefined) writeFileSync(o.evidence, `${JSON.stringify(evidence)}\n`);
        process.stderr.write(`meridian: refused: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`head ${lc.head.height} ${lc.head.root} (final; ${describeCommittee(lc.head.committee)})\n`);
      const head = lc.head.certificate;
      if (head.checkpoint !== undefined) {
        const { parseCheckpoint } = await import("../../runtime/prooflog/checkpoint.js");
        const cp = parseCheckpoint(head.checkpoint);
        process.stdout.write(`certified log checkpoint: ${cp.origin} size ${cp.size} root ${Buffer.from(cp.root).toString("base64")}\n`);
      }
      if (o.log !== undefined && index !== undefined) await proveEntry(lc.head.certificate, o.log, index, o.origin);
    });

  cert
    .command("serve")
    .description("hold a certificate chain from a trusted checkpoint certificate and serve it over HTTP (latest, ranges for fast sync, equivocation evidence)")
    .option("--config <file>", "service config, JSON or YAML: committee, start, data, and the kit's `server` section")
    .option("--committee <file>", "the committee trusted for the --start certificate")
    .option("--start <cert>", "the checkpoint certificate the chain starts from")
    .option("--data <dir>", "persist accepted certificates and evidence here (default: memory)")
    .option("--retain <n>", "hold only the last N certificates: older history is pruned, and compacted out of --data (default: all)")
    .option("--port <n>", "TCP port (0 picks a free one; default 8080)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (o: { config?: string; committee?: string; start?: string; data?: string; retain?: string; port?: string; host?: string }) => {
      if (o.port !== undefined && !/^[0-9]+$/.test(o.port)) throw new UserError(`--port "${o.port}" must be an integer`);
      const retain = o.retain === undefined ? undefined : int(o.retain, "--retain");
      const { CertificateJson, CommitteeJson, certService } = await import("../../runtime/certchain/index.js");
      // Flags are checked before anything binds: a bad file is a usage error naming it.
      if (o.committee !== undefined) readJsonFile(o.committee, "a committee (--committee)", CommitteeJson, usage);
      if (o.start !== undefined) readJsonFile(o.start, "a certificate (--start)", CertificateJson, usage);
      const { runService } = await import("../../runtime/kit/index.js");
      await runService(certService, {
        command: "meridian cert serve",
        configFile: o.config,
        overrides: { server: { port: o.port === undefined ? undefined : Number(o.port), host: o.host }, committee: o.committee, start: o.start, data: o.data, retain },
      });
    });
}

/** Prove entry `index` of the log at `url` against the checkpoint `head` certifies: exit 1 naming the problem. */
async function proveEntry(head: import("../../runtime/certchain/index.js").Certificate, url: string, index: number, origin: string | undefined): Promise<void> {
  const { certifiedCheckpoint, verifyCertifiedInclusion } = await import("../../runtime/certchain/index.js");
  const { LogClient } = await import("../../runtime/prooflog/client.js");
  const { leafHash } = await import("../../runtime/prooflog/rfc6962.js");
  try {
    const cp = certifiedCheckpoint(head);
    if (index >= cp.size) throw new Error(`entry ${index} is not below the certified size ${cp.size}`);
    const client = new LogClient(url);
    const [entry, proof] = await Promise.all([client.entry(index, cp.size), client.inclusionProof(index, cp.size)]);
    verifyCertifiedInclusion(head, index, leafHash(entry), proof, origin);
    process.stdout.write(`entry ${index} (${entry.length} bytes) is included in ${cp.origin} at the certified size ${cp.size}\n`);
  } catch (e) {
    process.stderr.write(`meridian: refused: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
