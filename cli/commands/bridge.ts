/**
 * `meridian bridge relay|prove|verify`: state proofs between regions' proof logs (runtime/bridge). `relay` moves the
 * receiving region's light-client state (--state) forward to the source log's current checkpoint (signature, witness
 * quorum, consistency proof); `prove` writes a claim for one source entry; `verify` accepts the claim only with an
 * inclusion proof under exactly the checkpoint in --state, verified less than --max-age ago (exit 1 if refused).
 */
import type { Command } from "commander";
import { writeFileSync } from "node:fs";
import { numberArg } from "../args.js";
import { UserError } from "../errors.js";
import { readKeyArg } from "./note.js";

const bridge = () => import("../../runtime/bridge/index.js");

interface TrustFlags {
  logVkey: string[];
  witnessVkey?: string[];
  quorum: number;
  maxAge: number;
}

async function options(o: TrustFlags, fetchConsistency: (a: number, b: number) => Promise<Uint8Array[]>) {
  const { newVerifier, newCosignatureVerifier } = await import("../../runtime/prooflog/index.js");
  const { systemClock } = await import("../../runtime/common/clock.js");
  try {
    const logVerifiers = o.logVkey.map((v) => newVerifier(readKeyArg(v, "--log-vkey")));
    const witnesses = (o.witnessVkey ?? []).map((v) => newCosignatureVerifier(readKeyArg(v, "--witness-vkey")));
    if (o.quorum > witnesses.length) throw new UserError(`--quorum ${o.quorum} needs at least that many --witness-vkey (got ${witnesses.length})`);
    return {
      origin: logVerifiers[0]!.name,
      logVerifiers,
      fetchConsistency,
      clock: systemClock,
      maxAgeMs: o.maxAge,
      ...(o.quorum > 0 ? { witnesses: { verifiers: witnesses, quorum: o.quorum } } : {}),
    };
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
}

/** A refusal (bad claim, unverifiable checkpoint, unreachable log) exits 1 with the reason. */
function refuse(e: unknown): void {
  process.stderr.write(`meridian: bridge: refused: ${(e as Error).message}\n`);
  process.exitCode = 1;
}

const trust = (c: Command) =>
  c
    .requiredOption("--log-vkey <vkey...>", "the source log's verifier key (or file); its name is the log's origin")
    .option("--witness-vkey <vkey...>", "a witness's cosignature verifier key (or file); repeatable")
    .option("--quorum <k>", "cosignatures required on every checkpoint", numberArg("--quorum", 0, 100, true), 0)
    .option("--max-age <ms>", "a checkpoint verified longer ago than this backs no claim", numberArg("--max-age", 0, Number.MAX_SAFE_INTEGER, true), 3_600_000);

export function register(program: Command): void {
  const cmd = program.command("bridge").description("state proofs between regions' proof logs: a light client of the source log and claims proven under its checkpoints");

  trust(cmd.command("relay"))
    .description("move the light-client state in --state forward to the source log's current checkpoint (consistency-proven, quorum-checked)")
    .requiredOption("--log <url>", "the source log's base URL")
    .requiredOption("--state <file>", "the receiving verifier's state file (created on first use: trust on first use)")
    .action(async (o: TrustFlags & { log: string; state: string }) => {
      const { BridgeVerifier, readState } = await bridge();
      const { LogClient } = await import("../../runtime/prooflog/index.js");
      const client = new LogClient(o.log);
      const opts = await options(o, (a, b) => client.consistencyProof(a, b));
      try {
        const saved = readState(o.state);
        const v = saved ? await BridgeVerifier.restore({ ...opts, maxAgeMs: Number.MAX_SAFE_INTEGER }, saved.note, saved.acceptedAt) : new BridgeVerifier(opts);
        const { size } = await v.relay(await client.checkpoint());
        writeFileSync(o.state, `${JSON.stringify(v.state)}\n`);
        process.stdout.write(`verified checkpoint of ${opts.origin} at size ${size}\n`);
      } catch (e) {
        refuse(e);
      }
    });

  cmd
    .command("prove")
    .description("print a claim for entry --index of the source log, proven under tree size --size (default: its current checkpoint)")
    .requiredOption("--log <url>", "the source log's base URL")
    .requiredOption("--index <n>", "entry index", numberArg("--index", 0, Number.MAX_SAFE_INTEGER, true))
    .option("--size <n>", "tree size to prove under", numberArg("--size", 1, Number.MAX_SAFE_INTEGER, true))
    .action(async (o: { log: string; index: number; size?: number }) => {
      const { claimJson } = await bridge();
      const { LogClient } = await import("../../runtime/prooflog/index.js");
      const client = new LogClient(o.log);
      const [origin, sizeLine] = (await client.checkpoint()).split("\n") as [string, string];
      const size = o.size ?? Number(sizeLine);
      if (o.index >= size) throw new UserError(`--index ${o.index} is not below the tree size ${size}`);
      const [entry, inclusionProof] = await Promise.all([client.entry(o.index, size), client.inclusionProof(o.index, size)]);
      process.stdout.write(`${JSON.stringify(claimJson({ origin, index: o.index, size, entry, inclusionProof }))}\n`);
    });

  trust(cmd.command("verify"))
    .description("accept a claim only with an inclusion proof under the checkpoint in --state (exit 1 if refused)")
    .requiredOption("--claim <file>", "the claim (bridge prove)")
    .requiredOption("--state <file>", "the receiving verifier's state file (bridge relay)")
    .action(async (o: TrustFlags & { claim: string; state: string }) => {
      const { BridgeVerifier, readClaim, readState } = await bridge();
      const opts = await options(o, () => Promise.reject(new Error("verify never moves the checkpoint: use bridge relay")));
      try {
        const saved = readState(o.state);
        if (!saved) throw new Error(`${o.state}: no verified checkpoint yet (run bridge relay first)`);
        const v = await BridgeVerifier.restore(opts, saved.note, saved.acceptedAt);
        process.stdout.write(`${JSON.stringify({ accepted: true, ...v.accept(readClaim(o.claim)) })}\n`);
      } catch (e) {
        refuse(e);
      }
    });
}
