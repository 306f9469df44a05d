/**
 * `meridian log prove-batch|verify-batch`: one multi-leaf inclusion proof (runtime/prooflog/proof/batch.ts) for a
 * set of entries, bundled with the checkpoint it proves against, and its offline verification. The bundle is
 * JSON: {format, checkpoint (the signed note), size, indices, leafHashes, proof}, hashes in base64.
 */
import type { Command } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { verificationFailed } from "./log-verify-failure.js";
import { readKeyArg } from "./note.js";

const FORMAT = "meridian-batch-proof/v1";

/** The bundle's schema; zod loads when a bundle is read, not on every `meridian` start. */
async function bundleSchema() {
  const { z } = await import("zod");
  const b64Hash = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "expected a base64 SHA-256 hash");
  return z
    .object({
      format: z.literal(FORMAT),
      checkpoint: z.string().min(1),
      size: z.number().int().min(1),
      indices: z.array(z.number().int().min(0)).min(1),
      leafHashes: z.array(b64Hash),
      proof: z.array(b64Hash),
    })
    .strict();
}

function parseIndices(value: string): number[] {
  if (!/^[0-9]+(,[0-9]+)*$/.test(value)) throw new UserError(`--indices "${value}": expected comma-separated entry indices, e.g. 0,5,9`);
  const out = [...new Set(value.split(",").map(Number))].sort((a, b) => a - b);
  if (out.some((i) => !Number.isSafeInteger(i))) throw new UserError(`--indices "${value}": an index is too large`);
  return out;
}

export function registerBatch(log: Command): void {
  log
    .command("prove-batch")
    .description("print one multi-leaf inclusion proof (shared paths sent once) for several entries against the log's checkpoint")
    .requiredOption("--log <url>", "log base URL")
    .requiredOption("--indices <i,j,...>", "entry indices, comma-separated")
    .option("--out <file>", "write the bundle here instead of stdout")
    .action(async (o: { log: string; indices: string; out?: string }) => {
      const indices = parseIndices(o.indices);
      const { LogClient } = await import("../../runtime/prooflog/client.js");
      const { parseCheckpoint } = await import("../../runtime/prooflog/checkpoint.js");
      const client = new LogClient(o.log);
      try {
        const note = await client.checkpoint();
        const cp = parseCheckpoint(note.slice(0, note.indexOf("\n\n") + 1));
        const beyond = indices.find((i) => i >= cp.size);
        if (beyond !== undefined) throw new UserError(`--indices: ${beyond} is not below the log's checkpoint size ${cp.size}`);
        const p = await client.batchInclusionProof(indices, cp.size);
        const b64 = (h: Uint8Array) => Buffer.from(h).toString("base64");
        const text = `${JSON.stringify({ format: FORMAT, checkpoint: note, size: cp.size, indices: p.indices, leafHashes: p.leafHashes.map(b64), proof: p.proof.map(b64) }, null, 2)}\n`;
        if (o.out) writeFileSync(o.out, text);
        else process.stdout.write(text);
      } catch (e) {
        if (e instanceof UserError) throw e;
        await verificationFailed(e);
      }
    });

  log
    .command("verify-batch")
    .description("verify a prove-batch bundle offline: the checkpoint's signature, then every entry's inclusion under its root")
    .requiredOption("--proof <file>", "the bundle from `meridian log prove-batch`")
    .requiredOption("--vkey <vkey>", "the log's verifier key (or a file holding it)")
    .option("--origin <origin>", "expected origin (default: the key's name)")
    .option("--entry <index=file...>", "also check that entry <index> is the content of <file>; repeatable")
    .action(async (o: { proof: string; vkey: string; origin?: string; entry?: string[] }) => {
      const { NoteError, newVerifier } = await import("../../runtime/prooflog/note.js");
      const { openCheckpoint } = await import("../../runtime/prooflog/checkpoint.js");
      const { verifyBatchInclusion } = await import("../../runtime/prooflog/proof/batch.js");
      const { leafHash } = await import("../../runtime/prooflog/rfc6962.js");
      const { ProofError } = await import("../../runtime/prooflog/proof/verify.js");
      let verifier;
      try {
        verifier = newVerifier(readKeyArg(o.vkey, "--vkey"));
      } catch (e) {
        if (e instanceof NoteError) throw new UserError(`--vkey: ${e.message}`);
        throw e;
      }
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(o.proof, "utf8"));
      } catch (e) {
        throw new UserError(`--proof ${o.proof}: ${(e as Error).message}`);
      }
      const parsed = (await bundleSchema()).safeParse(raw);
      if (!parsed.success) throw new UserError(`--proof ${o.proof}: not a ${FORMAT} bundle: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
      const b = parsed.data;
      const h = (s: string) => Buffer.from(s, "base64");
      try {
        const { checkpoint } = openCheckpoint(b.checkpoint, [verifier], o.origin ?? verifier.name);
        if (checkpoint.size !== b.size) throw new ProofError(`the bundle says size ${b.size}; its checkpoint is for size ${checkpoint.size}`);
        verifyBatchInclusion(b.size, b.indices, b.leafHashes.map(h), b.proof.map(h), checkpoint.root);
        for (const spec of o.entry ?? []) {
          const at = spec.indexOf("=");
          const index = Number(spec.slice(0, at));
          if (at < 1 || !Number.isSafeInteger(index)) throw new UserError(`--entry "${spec}": expected <index>=<file>`);
          const k = b.indices.indexOf(index);
          if (k < 0) throw new ProofError(`entry ${index} is not in the bundle's batch (${b.indices.join(", ")})`);
          if (!h(b.leafHashes[k]!).equals(leafHash(readFileSync(spec.slice(at + 1))))) throw new ProofError(`entry ${index}: ${spec.slice(at + 1)} is not the entry the log holds there`);
        }
        process.stdout.write(`ok: ${b.indices.length} entries (${b.indices.join(", ")}) are in ${checkpoint.origin} at size ${b.size}; ${b.proof.length} proof hashes\n`);
      } catch (e) {
        if (e instanceof UserError) throw e;
        await verificationFailed(e);
      }
    });
}
