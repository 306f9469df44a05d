/**
 * `meridian pki …`: the offline root and the regional intermediates it signs (runtime/identity/offline-ca.ts,
 * constraints and lifetimes from model/rotation/issuers.ts).
 *   root   --stack S --out DIR                     a new offline root (run on the offline machine only)
 *   csr    --stack S --region R --out DIR          a region's intermediate key and CSR (online)
 *   sign   --stack S --region R --csr F --root-cert F --root-key F   the signed chain on stdout (offline)
 *   inspect FILE                                   subject, validity, path length and name constraints
 *   plan   --stack S                               the renewal ceremony for every region, in wave order
 */
import type { Command } from "commander";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";

const DAY = 86_400_000;

function read(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(`${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Write PEM files into a new or existing directory; keys are readable by the owner only. */
function writeOut(dir: string, files: Record<string, { pem: string; secret: boolean }>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, f] of Object.entries(files)) {
    writeFileSync(join(dir, name), f.pem, { mode: f.secret ? 0o600 : 0o644, flag: "wx" });
    process.stdout.write(`wrote ${join(dir, name)}${f.secret ? " (private key, mode 600)" : ""}\n`);
  }
}

async function specOf(stack: string) {
  const { loadStack } = await import("../../stacks/load.js");
  const { buildEstateSpec } = await import("../../model/estate.js");
  return buildEstateSpec(stack, loadStack(stack));
}

async function regionOf(stack: string, id: string) {
  const spec = await specOf(stack);
  const region = spec.regions.find((r) => r.id === id);
  if (!region) throw new UserError(`--region: got ${JSON.stringify(id)}; stack ${stack} has ${spec.regions.map((r) => r.id).join(", ")}`);
  return { spec, region };
}

function parseTime(text: string | undefined, flag: string): Date {
  if (text === undefined) return new Date();
  const t = Date.parse(text);
  if (Number.isNaN(t) || !/[zZ]|[+-]\d{2}:\d{2}$/.test(text)) throw new UserError(`${flag}: got ${JSON.stringify(text)}; expected an ISO 8601 time with a zone`);
  return new Date(t);
}

export function register(program: Command): void {
  const pki = program.command("pki").description("offline root and regional intermediates: create, sign, inspect, plan renewal");

  pki
    .command("root")
    .description("create a new offline root CA (on the offline machine; its key must never be copied online)")
    .option("-s, --stack <name>", "stack name", "prod")
    .requiredOption("--out <dir>", "directory for root-ca.pem and root-ca-key.pem")
    .option("--years <n>", "validity in years", "10")
    .action(async (opts: { stack: string; out: string; years: string }) => {
      const years = Number(opts.years);
      if (!Number.isInteger(years) || years < 1 || years > 30) throw new UserError(`--years: got ${opts.years}; expected a whole number from 1 to 30`);
      const [{ createOfflineRoot }, { rootSubject }] = await Promise.all([import("../../runtime/identity/offline-ca.js"), import("../../model/rotation/issuers.js")]);
      const now = Date.now();
      const root = await createOfflineRoot(rootSubject(await specOf(opts.stack)), new Date(now - 3_600_000), new Date(now + years * 365 * DAY));
      writeOut(opts.out, { "root-ca.pem": { pem: root.cert, secret: false }, "root-ca-key.pem": { pem: root.key, secret: true } });
    });

  pki
    .command("csr")
    .description("create a region's intermediate key and CSR (the key goes to secret config, the CSR to the offline machine)")
    .option("-s, --stack <name>", "stack name", "prod")
    .requiredOption("--region <id>", "region id")
    .requiredOption("--out <dir>", "directory for intermediate.csr and intermediate-key.pem")
    .action(async (opts: { stack: string; region: string; out: string }) => {
      const { spec, region } = await regionOf(opts.stack, opts.region);
      const [{ createIntermediateCsr }, { intermediateProfile }] = await Promise.all([import("../../runtime/identity/offline-ca.js"), import("../../model/rotation/issuers.js")]);
      const { csr, key } = await createIntermediateCsr(intermediateProfile(spec, region).subject);
      writeOut(opts.out, { "intermediate.csr": { pem: csr, secret: false }, "intermediate-key.pem": { pem: key, secret: true } });
    });

  pki
    .command("sign")
    .description("sign a region's intermediate CSR with the offline root: path length 1, name-constrained to the trust domain")
    .option("-s, --stack <name>", "stack name", "prod")
    .requiredOption("--region <id>", "region id")
    .requiredOption("--csr <file>", "the region's intermediate.csr")
    .requiredOption("--root-cert <file>", "root-ca.pem")
    .requiredOption("--root-key <file>", "root-ca-key.pem")
    .option("--not-before <time>", "start of validity (ISO 8601 with zone); default now")
    .action(async (opts: { stack: string; region: string; csr: string; rootCert: string; rootKey: string; notBefore?: string }) => {
      const { spec, region } = await regionOf(opts.stack, opts.region);
      const [{ signIntermediate, OfflineCaError }, { intermediateProfile }, { durationSeconds }] = await Promise.all([
        import("../../runtime/identity/offline-ca.js"),
        import("../../model/rotation/issuers.js"),
        import("../../model/config/vocabulary.js"),
      ]);
      const profile = intermediateProfile(spec, region);
      const notBefore = parseTime(opts.notBefore, "--not-before");
      const notAfter = new Date(notBefore.getTime() + durationSeconds(profile.duration) * 1000);
      try {
        const chain = await signIntermediate({
          root: { cert: read(opts.rootCert, "--root-cert"), key: read(opts.rootKey, "--root-key") },
          csr: read(opts.csr, "--csr"),
          notBefore,
          notAfter,
          pathLength: profile.pathLength,
          constraints: profile.constraints,
        });
        process.stdout.write(chain);
      } catch (err) {
        if (err instanceof OfflineCaError) throw new UserError(err.message);
        throw new UserError(`cannot sign: ${(err as Error).message}`);
      }
    });

  pki
    .command("inspect")
    .description("print a CA certificate's subject, validity, path length and name constraints as JSON")
    .argument("<file>", "PEM certificate (the first one is inspected)")
    .action(async (file: string) => {
      const { describeCa } = await import("../../runtime/identity/offline-ca.js");
      let d;
      try {
        d = describeCa(read(file, "inspect"));
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError(`${file}: not a PEM certificate (${(err as Error).message})`);
      }
      process.stdout.write(`${JSON.stringify({ ...d, notBefore: d.notBefore.toISOString(), notAfter: d.notAfter.toISOString() }, null, 2)}\n`);
    });

  pki
    .command("plan")
    .description("print the intermediate renewal ceremony for every region, canary first")
    .option("-s, --stack <name>", "stack name", "prod")
    .action(async (opts: { stack: string }) => {
      const { planIntermediateRenewal, renderIntermediateRenewal } = await import("../../model/rotation/intermediates.js");
      process.stdout.write(renderIntermediateRenewal(planIntermediateRenewal(await specOf(opts.stack))));
    });
}
