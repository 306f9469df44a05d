/**
 * `meridian tbls deal|verify-share|sign|combine|verify`: (t, n) threshold BLS signatures on BLS12-381 with Feldman
 * VSS. Any t partial signatures combine into one 48-byte signature that verifies as an ordinary BLS signature
 * (noble's short-signature mode, the standard G1 hash) under the group key; fewer cannot.
 */
import type { Command } from "commander";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { numberArg } from "../args.js";
import { UserError } from "../errors.js";

const tbls = () => import("../../runtime/tbls/index.js");

/** Run f; a ThresholdError (bad file, bad shape) is the user's to fix: exit 2. */
async function user<T>(f: () => T): Promise<T> {
  const { ThresholdError } = await tbls();
  try {
    return f();
  } catch (e) {
    if (e instanceof ThresholdError) throw new UserError(e.message);
    throw e;
  }
}

function readMessage(file: string): Uint8Array {
  if (!existsSync(file)) throw new UserError(`${file}: no such message file`);
  return readFileSync(file);
}

export function register(program: Command): void {
  const cmd = program.command("tbls").description("(t, n) threshold BLS signatures on BLS12-381 with Feldman VSS");

  cmd
    .command("deal")
    .description("deal a fresh group key: OUTDIR/group.json (public) and OUTDIR/share-1..N.json (one per participant, secret)")
    .requiredOption("--t <t>", "threshold: signatures needed", numberArg("--t", 1, 1024, true))
    .requiredOption("--n <n>", "participants", numberArg("--n", 1, 1024, true))
    .argument("<outdir>", "directory to write (created if absent)")
    .action(async (outdir: string, opts: { t: number; n: number }) => {
      if (opts.t > opts.n) throw new UserError(`--t ${opts.t} is greater than --n ${opts.n}`);
      const { deal, groupJson, shareJson } = await tbls();
      const d = await user(() => deal(opts.t, opts.n));
      mkdirSync(outdir, { recursive: true });
      writeFileSync(join(outdir, "group.json"), `${JSON.stringify(groupJson(d), null, 2)}\n`);
      for (const s of d.shares) {
        const file = join(outdir, `share-${s.index}.json`);
        writeFileSync(file, `${JSON.stringify(shareJson(s))}\n`, { mode: 0o600 });
        chmodSync(file, 0o600);
      }
      process.stdout.write(`dealt ${opts.t}-of-${opts.n}; group public key ${groupJson(d).groupPublicKey}\n`);
    });

  cmd
    .command("verify-share")
    .description("Feldman check: does the share lie on the polynomial committed in group.json? (exit 1 if not)")
    .requiredOption("--group <file>", "group.json")
    .argument("<share>", "share-<i>.json")
    .action(async (shareFile: string, opts: { group: string }) => {
      const { readGroup, readShare, verifyShare } = await tbls();
      const group = await user(() => readGroup(opts.group));
      const share = await user(() => readShare(shareFile));
      if (verifyShare(group.commitments, share)) process.stdout.write(`share ${share.index} is consistent with the commitments\n`);
      else {
        process.stderr.write(`meridian: tbls verify-share: share ${share.index} does not match the commitments in ${opts.group}\n`);
        process.exitCode = 1;
      }
    });

  cmd
    .command("sign")
    .description("print this participant's partial signature over FILE (one JSON line)")
    .requiredOption("--share <file>", "share-<i>.json")
    .argument("<file>", "message file")
    .action(async (file: string, opts: { share: string }) => {
      const { partialJson, partialSign, readShare } = await tbls();
      const share = await user(() => readShare(opts.share));
      process.stdout.write(`${JSON.stringify(partialJson(partialSign(readMessage(file), share)))}\n`);
    });

  cmd
    .command("combine")
    .description("check each partial signature over FILE, combine t good ones and print the group signature (hex); exit 1 naming the bad or missing ones when fewer than t are good")
    .requiredOption("--group <file>", "group.json")
    .argument("<file>", "message file")
    .argument("<partials...>", "partial signature files from `meridian tbls sign`")
    .action(async (file: string, partialFiles: string[], opts: { group: string }) => {
      const { combine, readGroup, readPartial, verifyPartial } = await tbls();
      const group = await user(() => readGroup(opts.group));
      const message = readMessage(file);
      const good = new Map<number, ReturnType<typeof readPartial>>();
      const bad: string[] = [];
      for (const f of partialFiles) {
        const p = await user(() => readPartial(f));
        if (p.index > group.n) bad.push(`${f} (index ${p.index} > n = ${group.n})`);
        else if (!verifyPartial(message, group.commitments, p)) bad.push(`${f} (participant ${p.index}: signature does not verify under its key share)`);
        else good.set(p.index, p);
      }
      for (const b of bad) process.stderr.write(`meridian: tbls combine: excluded ${b}\n`);
      if (good.size < group.t) {
        process.stderr.write(`meridian: tbls combine: need ${group.t} good partial signatures from distinct participants, have ${good.size}${good.size ? ` (${[...good.keys()].join(", ")})` : ""}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${Buffer.from(combine(group.t, [...good.values()])).toString("hex")}\n`);
    });

  cmd
    .command("verify")
    .description("verify a signature over FILE as an ordinary BLS signature under the group key (exit 1 if invalid)")
    .requiredOption("--group <file>", "group.json")
    .requiredOption("--signature <hex>", "48-byte signature as hex")
    .argument("<file>", "message file")
    .action(async (file: string, opts: { group: string; signature: string }) => {
      const { readGroup, verifyGroupSignature } = await tbls();
      const group = await user(() => readGroup(opts.group));
      if (!/^[0-9a-f]{96}$/.test(opts.signature)) throw new UserError(`--signature: expected 48 bytes as 96 lower-case hex digits`);
      if (verifyGroupSignature(readMessage(file), Buffer.from(opts.signature, "hex"), group.groupPublicKey)) process.stdout.write("valid\n");
      else {
        process.stderr.write(`meridian: tbls verify: the signature does not verify under the group key in ${opts.group}\n`);
        process.exitCode = 1;
      }
    });
}
