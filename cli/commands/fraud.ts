/**
 * `meridian fraud sequence|prove|check`: fraud proofs over a state-transition log (runtime/fraud). `sequence`
 * plays the sequencer — executes a file of txs, writes the log's entries and a signed checkpoint, and on request
 * misbehaves (a wrong post root, or logging txs it should refuse) so the other two have something to catch.
 * `prove` replays a log as a challenger and prints the single-step fraud proof of its first bad transition (exit 1
 * when every transition checks out); `check` verifies a fraud proof with nothing but the sequencer's key (exit 0:
 * fraud proven, exit 1: the proof is refused, with the reason). `bisect` plays the interactive game instead: an
 * honest challenger disputes the logged roots within the challenge window and bisects them down to one step.
 */
import type { Command } from "commander";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { readKeyArg } from "./note.js";

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`${what} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UserError(`${what}: not JSON (${(e as Error).message})`);
  }
}

const keyName = (key: string) => key.replace(/^PRIVATE\+KEY\+/, "").split("+")[0]!;

function readLog(dir: string): { checkpoint: string; entries: Buffer[] } {
  const checkpoint = readText(join(dir, "checkpoint"), "LOGDIR");
  const entries = readText(join(dir, "entries.jsonl"), "LOGDIR")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => Buffer.from(l, "utf8"));
  return { checkpoint, entries };
}

export function register(program: Command): void {
  const fraud = program.command("fraud").description("fraud proofs over a state-transition log: sequence a log of balance txs, prove a bad transition, check a proof");

  fraud
    .command("sequence")
    .description("execute TXS (a JSON array of {op: mint, to, amount} / {op: transfer, from, to, amount}) and write LOGDIR/entries.jsonl and LOGDIR/checkpoint")
    .argument("<txs>", "JSON file of transactions")
    .argument("<logdir>", "output directory")
    .requiredOption("--key <file>", "the sequencer's signer key file (meridian note keygen); its name is the log origin")
    .option("--wrong-post <index>", "misbehave: log the tx at this index with a wrong post state root")
    .option("--log-invalid", "misbehave: log txs an honest sequencer refuses (overdrafts, self-transfers) with post = pre")
    .action(async (txsFile: string, dir: string, o: { key: string; wrongPost?: string; logInvalid?: boolean }) => {
      const { FraudInputError, Sequencer } = await import("../../runtime/fraud/index.js");
      const { newSigner } = await import("../../runtime/prooflog/index.js");
      const { createHash } = await import("node:crypto");
      const skey = readKeyArg(o.key, "--key");
      const txs = parseJson(readText(txsFile, "TXS"), `TXS ${txsFile}`);
      if (!Array.isArray(txs)) throw new UserError(`TXS ${txsFile}: expected a JSON array of transactions`);
      const wrongPost = o.wrongPost === undefined ? undefined : Number(o.wrongPost);
      if (wrongPost !== undefined && (!Number.isSafeInteger(wrongPost) || wrongPost < 0 || wrongPost >= txs.length))
        throw new UserError(`--wrong-post ${o.wrongPost}: expected a tx index 0..${txs.length - 1}`);
      const s = new Sequencer(keyName(skey), newSigner(skey));
      let refused = 0;
      txs.forEach((tx: unknown, i) => {
        const pre = s.state.root();
        try {
          s.submit(tx as never, i === wrongPost ? createHash("sha256").update(`wrong post ${i}`).digest() : undefined);
        } catch (e) {
          if (!(e instanceof FraudInputError)) throw e;
          if (o.logInvalid) s.appendEntry({ pre, tx, post: pre });
          else {
            refused++;
            process.stderr.write(`tx ${i} refused: ${e.message}\n`);
          }
        }
      });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "entries.jsonl"), s.entries.map((e) => `${e.toString("utf8")}\n`).join(""));
      writeFileSync(join(dir, "checkpoint"), s.checkpoint());
      process.stdout.write(`${s.entries.length} entries, ${refused} txs refused; state root ${Buffer.from(s.state.root()).toString("hex")}\n`);
    });

  fraud
    .command("prove")
    .description("replay LOGDIR as a challenger: print the fraud proof (JSON) of its first bad transition; exit 1 when all check out")
    .argument("<logdir>", "directory with entries.jsonl and checkpoint")
    .requiredOption("--vkey <vkey>", "the sequencer's verifier key (or a file holding it); its name is the log origin")
    .action(async (dir: string, o: { vkey: string }) => {
      const { FraudInputError, findFraud, proofSize } = await import("../../runtime/fraud/index.js");
      const { NoteError } = await import("../../runtime/prooflog/note.js");
      const vkey = readKeyArg(o.vkey, "--vkey");
      const { checkpoint, entries } = readLog(dir);
      let proof;
      try {
        proof = findFraud(checkpoint, entries, vkey, keyName(vkey));
      } catch (e) {
        if (e instanceof FraudInputError || e instanceof NoteError) throw new UserError(`LOGDIR ${dir}: ${e.message}`);
        throw e;
      }
      if (proof === undefined) {
        process.stderr.write(`no fraud: all ${entries.length} transitions check out\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${JSON.stringify(proof)}\n`);
      process.stderr.write(`fraud proof for entry ${proof.challenged.index}: ${proofSize(proof)} bytes\n`);
    });

  fraud
    .command("check")
    .description("verify a fraud proof with the sequencer's key: exit 0 and the reason when fraud is proven, exit 1 when the proof is refused")
    .argument("<proof>", "fraud proof JSON (from fraud prove)")
    .requiredOption("--vkey <vkey>", "the sequencer's verifier key (or a file holding it); its name is the log origin")
    .option("--machine <machine>", "what the transitions are: balances (fraud sequence) or escrow (an escrow's /v1/transitions)", "balances")
    .action(async (file: string, o: { vkey: string; machine: string }) => {
      const { checkFraudProof, checkEscrowFraudProof } = await import("../../runtime/fraud/index.js");
      if (o.machine !== "balances" && o.machine !== "escrow") throw new UserError(`--machine ${o.machine}: expected balances or escrow`);
      const vkey = readKeyArg(o.vkey, "--vkey");
      const proof = parseJson(readText(file, "PROOF"), `PROOF ${file}`);
      if (typeof proof !== "object" || proof === null || typeof (proof as { checkpoint?: unknown }).checkpoint !== "string" || typeof (proof as { challenged?: unknown }).challenged !== "object")
        throw new UserError(`PROOF ${file}: not a fraud proof (needs checkpoint and challenged)`);
      let v;
      try {
        v = (o.machine === "escrow" ? checkEscrowFraudProof : checkFraudProof)(proof as never, vkey, keyName(vkey));
      } catch (e) {
        if (e instanceof TypeError) {
          process.stderr.write(`meridian: proof refused: malformed (${e.message})\n`);
          process.exitCode = 1;
          return;
        }
        throw e;
      }
      if (v.fraud) process.stdout.write(`fraud proven: ${v.reason}\n`);
      else {
        process.stderr.write(`meridian: proof refused: ${v.reason}\n`);
        process.exitCode = 1;
      }
    });

  fraud
    .command("bisect")
    .description("challenge LOGDIR's roots by bisection: the logged post roots are the asserter's claims, an honest replay the challenger; exit 0 when fraud is proven, 1 when the roots stand")
    .argument("<logdir>", "directory with entries.jsonl and checkpoint")
    .requiredOption("--vkey <vkey>", "the sequencer's verifier key (or a file holding it); its name is the log origin")
    .option("--window <ms>", "challenge window after the checkpoint is asserted (ms)", "604800000")
    .option("--asserted-at <ms>", "when the checkpoint was asserted (ms since the epoch)", "0")
    .option("--challenged-at <ms>", "when the challenge is opened (default: --asserted-at)")
    .option("--json", "print the outcome (winner, step, reason, rounds) as JSON")
    .action(async (dir: string, o: { vkey: string; window: string; assertedAt: string; challengedAt?: string; json?: boolean }) => {
      const ms = (v: string, what: string) => {
        if (!/^[0-9]{1,15}$/.test(v)) throw new UserError(`${what} ${v}: expected milliseconds (a non-negative integer)`);
        return Number(v);
      };
      const window = ms(o.window, "--window");
      if (window === 0) throw new UserError("--window 0: the window must be positive");
      const assertedAt = ms(o.assertedAt, "--asserted-at");
      const challengedAt = o.challengedAt === undefined ? assertedAt : ms(o.challengedAt, "--challenged-at");
      const f = await import("../../runtime/fraud/index.js");
      const { NoteError } = await import("../../runtime/prooflog/note.js");
      const vkey = readKeyArg(o.vkey, "--vkey");
      const { checkpoint, entries } = readLog(dir);
      let claim;
      try {
        claim = f.loggedClaim(checkpoint, entries, vkey, keyName(vkey));
      } catch (e) {
        if (e instanceof f.FraudInputError || e instanceof NoteError) throw new UserError(`LOGDIR ${dir}: ${e.message}`);
        throw e;
      }
      const w = new f.ChallengeWindow(window);
      w.assert("checkpoint", assertedAt);
      try {
        w.challenge("checkpoint", challengedAt);
      } catch (e) {
        if (!(e instanceof f.FraudInputError)) throw e;
        process.stderr.write(`meridian: challenge refused: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      const out = f.playBisection(claim.txs, claim.asserter, f.honestChallenger(claim.txs));
      w.settle("checkpoint", out);
      if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else {
        for (const [k, r] of out.rounds.entries())
          process.stdout.write(`round ${k + 1}: steps ${r.lo}..${r.hi}, asserter's root after ${r.mid} = ${r.root.slice(0, 16)}…, challenger ${r.agreed ? "agrees" : "disagrees"}\n`);
        process.stdout.write(`${out.reason}\n`);
        const status = w.status("checkpoint", Math.max(challengedAt, assertedAt + window));
        process.stdout.write(`${out.winner} wins after ${out.rounds.length} rounds over ${claim.txs.length} steps: the checkpoint is ${status}\n`);
      }
      if (out.winner === "asserter") process.exitCode = 1;
    });

  fraud
    .command("challenge")
    .description(
      "replay a running escrow's state-transition log (GET /v1/transitions) and print the fraud proof of its first bad transition (exit 0), or of transition --index (exit 1 with the reason when it is valid); exit 1 when all check out. --court sends the checkpoint and the proof to a fraud court",
    )
    .requiredOption("--escrow <url>", "the escrow service's base URL")
    .option("--vkey <vkey>", "the escrow log's verifier key (or a file holding it); default: the key the escrow serves with its checkpoint")
    .option("--index <n>", "challenge this transition (0-based) whatever it is")
    .option("--court <url>", "assert the checkpoint at this fraud court (meridian fraud serve --machine escrow) and file the proof there")
    .option("--out <file>", "write the proof JSON here instead of stdout")
    .action(async (o: { escrow: string; vkey?: string; index?: string; court?: string; out?: string }) => {
      const f = await import("../../runtime/fraud/index.js");
      const { fetchEscrowLog, fileWithCourt } = await import("../../runtime/fraud/index.js");
      const { NoteError } = await import("../../runtime/prooflog/note.js");
      const index = o.index === undefined ? undefined : Number(o.index);
      if (index !== undefined && !(/^[0-9]{1,15}$/.test(o.index!) && Number.isSafeInteger(index))) throw new UserError(`--index ${o.index}: expected a transition number (0-based)`);
      let log, proof;
      try {
        log = await fetchEscrowLog(o.escrow);
        const vkey = o.vkey === undefined ? log.served.vkey : readKeyArg(o.vkey, "--vkey");
        if (o.vkey === undefined) process.stderr.write(`trusting the key the escrow serves: ${vkey}\n`);
        proof = f.proveEscrow(log.served.checkpoint, log.entries, vkey, keyName(vkey), index);
        if (proof === undefined) {
          process.stderr.write(`no fraud: all ${log.entries.length} transitions check out\n`);
          process.exitCode = 1;
          return;
        }
        const v = f.checkEscrowFraudProof(proof, vkey, keyName(vkey));
        if (!v.fraud) {
          process.stderr.write(`meridian: transition ${proof.challenged.index} cannot be challenged: ${v.reason}\n`);
          process.exitCode = 1;
          return;
        }
        process.stderr.write(`fraud proven for transition ${v.index} of ${log.entries.length}: ${v.reason} (${Buffer.byteLength(JSON.stringify(proof))}-byte proof)\n`);
      } catch (e) {
        if (e instanceof f.FraudInputError || e instanceof NoteError) throw new UserError(`--escrow ${o.escrow}: ${e.message}`);
        throw e;
      }
      if (o.out) writeFileSync(o.out, `${JSON.stringify(proof)}\n`);
      else process.stdout.write(`${JSON.stringify(proof)}\n`);
      if (o.court) {
        const r = await fileWithCourt(o.court, proof).catch((e: Error) => {
          throw new UserError(`--court ${o.court}: ${e.message}`);
        });
        process.stderr.write(`court: claim ${r.claim.status} ${JSON.stringify(r.claim.body)}; proof ${r.proof.status} ${JSON.stringify(r.proof.body)}\n`);
        if (r.proof.status !== 200) process.exitCode = 1;
      }
    });

  fraud
    .command("serve")
    .description("the challenge court over HTTP: checkpoints asserted (POST /v1/fraud/claims) become final after the window unless a fraud proof (POST /v1/fraud/proofs) rejects them")
    .option("--config <file>", "service config, JSON or YAML: vkey, windowMs, data, and the kit's `server` section")
    .option("--vkey <vkey>", "the sequencer's verifier key (or a file holding it); its name is the log origin")
    .option("--window <ms>", "challenge window after a checkpoint is asserted (ms; default 7 days)")
    .option("--data <dir>", "persist assertions and verdicts here (default: memory)")
    .option("--machine <machine>", "what the transitions are: balances (default) or escrow (an escrow's /v1/transitions)")
    .option("--port <n>", "TCP port (0 picks a free one; default 8080)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (o: { config?: string; vkey?: string; window?: string; data?: string; machine?: string; port?: string; host?: string }) => {
      const int = (v: string, what: string, min: number) => {
        if (!/^[0-9]{1,15}$/.test(v) || Number(v) < min) throw new UserError(`${what} ${v}: expected an integer >= ${min}`);
        return Number(v);
      };
      const vkey = o.vkey === undefined ? undefined : readKeyArg(o.vkey, "--vkey");
      const { runService } = await import("../../runtime/kit/index.js");
      const { courtService } = await import("../../runtime/fraud/service.js");
      await runService(courtService, {
        command: "meridian fraud serve",
        configFile: o.config,
        overrides: {
          server: { port: o.port === undefined ? undefined : int(o.port, "--port", 0), host: o.host },
          vkey,
          windowMs: o.window === undefined ? undefined : int(o.window, "--window", 1),
          data: o.data,
          machine: o.machine,
        },
      });
    });
}
