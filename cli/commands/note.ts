/**
 * `meridian note keygen|sign|verify`: C2SP signed notes with keys in Go's sumdb/note text formats, so notes and
 * keys interoperate with Go's note package, Sigsum and the public witness network.
 */
import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { UserError } from "../errors.js";

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A key given inline or as a file holding it (first non-empty line). */
export function readKeyArg(value: string, what: string): string {
  if (/^PRIVATE\+KEY\+/.test(value)) throw new UserError(`${what}: pass the signer key as a file path, not on the command line (it would leak into shell history)`);
  if (existsSync(value)) {
    const line = readFileSync(value, "utf8")
      .split("\n")
      .find((l) => l.trim() !== "");
    if (!line) throw new UserError(`${what}: file ${value} holds no key`);
    return line.trim();
  }
  return value.trim();
}

export function register(program: Command): void {
  const note = program.command("note").description("create keys for, sign and verify C2SP signed notes (Go sumdb/note format)");

  note
    .command("keygen")
    .description("print a new signer key line, then its verifier key line")
    .requiredOption("--name <name>", "key name (e.g. the log origin, example.com/log)")
    .option("--type <type>", "ed25519 (log/note keys), cosignature (witness Ed25519 cosignature/v1 keys) or mldsa44 (witness ML-DSA-44 keys)", "ed25519")
    .action(async (opts: { name: string; type: string }) => {
      const { generateKey, ALG_ED25519, ALG_COSIGNATURE_V1, ALG_MLDSA44, NoteError } = await import("../../runtime/prooflog/note.js");
      const alg = { ed25519: ALG_ED25519, cosignature: ALG_COSIGNATURE_V1, mldsa44: ALG_MLDSA44 }[opts.type];
      if (alg === undefined) throw new UserError(`--type ${opts.type}: expected ed25519, cosignature or mldsa44`);
      try {
        const { signerKey, verifierKey } = generateKey(opts.name, alg);
        process.stdout.write(`${signerKey}\n${verifierKey}\n`);
      } catch (e) {
        if (e instanceof NoteError) throw new UserError(`--name: ${e.message}`);
        throw e;
      }
    });

  note
    .command("sign")
    .description("sign the note text on stdin (an already signed note gets one more signature)")
    .requiredOption("--key <file>", "file holding the signer key (PRIVATE+KEY+…)")
    .action(async (opts: { key: string }) => {
      const { newSigner, parseSignerKey, signNote, splitForSigning, NoteError, ALG_ED25519 } = await import("../../runtime/prooflog/note.js");
      const { newCosigner } = await import("../../runtime/prooflog/witness/cosignature.js");
      const { systemClock } = await import("../../runtime/common/clock.js");
      const input = (await readStdin()).toString("utf8");
      try {
        const skey = readKeyArg(opts.key, "--key");
        const signer = parseSignerKey(skey).alg === ALG_ED25519 ? newSigner(skey) : newCosigner(skey, systemClock);
        const { text, sigs } = splitForSigning(input);
        process.stdout.write(signNote(text, [signer], sigs));
      } catch (e) {
        if (e instanceof NoteError) throw new UserError(e.message);
        throw e;
      }
    });

  note
    .command("verify")
    .description("print the note text if a known key signed it; exit 1 naming the reason otherwise")
    .requiredOption("--vkey <vkey...>", "verifier key (or file holding one); repeatable")
    .action(async (opts: { vkey: string[] }) => {
      const { openNote, parseVerifierKey, newVerifier, NoteError, ALG_ED25519 } = await import("../../runtime/prooflog/note.js");
      const { newCosignatureVerifier } = await import("../../runtime/prooflog/witness/cosignature.js");
      let verifiers;
      try {
        verifiers = opts.vkey.map((v) => {
          const key = readKeyArg(v, "--vkey");
          return parseVerifierKey(key).alg === ALG_ED25519 ? newVerifier(key) : newCosignatureVerifier(key);
        });
      } catch (e) {
        if (e instanceof NoteError) throw new UserError(`--vkey: ${e.message}`);
        throw e;
      }
      try {
        const n = openNote(await readStdin(), verifiers);
        process.stdout.write(n.text);
      } catch (e) {
        if (!(e instanceof NoteError)) throw e;
        process.stderr.write(`meridian: note rejected (${e.kind}): ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
