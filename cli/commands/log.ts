/**
 * `meridian log serve|verify|proof|add`: run a transparency log, audit one from the outside, and export offline
 * proofs (C2SP tlog-proof) that verify without the server; `prove-batch|verify-batch` in log-batch.ts.
 */
import type { Command } from "commander";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { intArg } from "../args.js";
import { UserError } from "../errors.js";
import { verificationFailed } from "./log-verify-failure.js";
import { registerBatch } from "./log-batch.js";
import { registerPrune } from "./log-prune.js";
import { readKeyArg } from "./note.js";

/** Verifiers for key lines: Ed25519 log keys, or witness keys (cosignature/v1, ML-DSA-44), told apart by `kind`. */
async function verifiersFrom(vkeys: string[]) {
  const { parseVerifierKey, newVerifier, NoteError, ALG_ED25519 } = await import("../../runtime/prooflog/note.js");
  const { newCosignatureVerifier } = await import("../../runtime/prooflog/witness/cosignature.js");
  try {
    return vkeys.map((v) => {
      const key = readKeyArg(v, "--vkey");
      return parseVerifierKey(key).alg === ALG_ED25519 ? { ...newVerifier(key), kind: "log" as const } : { ...newCosignatureVerifier(key), kind: "witness" as const };
    });
  } catch (e) {
    if (e instanceof NoteError) throw new UserError(`--vkey: ${e.message}`);
    throw e;
  }
}

/** `<group key name>=<group.json>`: a threshold group of witnesses (witness/threshold.ts). */
function thresholdArg(value: string, what: string): { name: string; group: string } {
  const at = value.indexOf("=");
  if (at < 1 || /[\s+]/.test(value.slice(0, at))) throw new UserError(`${what} "${value}": expected <group key name>=<group.json from meridian tbls dkg>`);
  const group = value.slice(at + 1);
  if (!existsSync(group)) throw new UserError(`${what}: ${group}: no such file`);
  return { name: value.slice(0, at), group };
}

async function thresholdGroup(value: string, what: string) {
  const t = thresholdArg(value, what);
  const { readGroup, ThresholdError } = await import("../../runtime/tbls/index.js");
  try {
    return { ...readGroup(t.group), name: t.name };
  } catch (e) {
    if (e instanceof ThresholdError) throw new UserError(`${what}: ${e.message}`);
    throw e;
  }
}

function defaultState(url: string): string {
  const base = process.env["XDG_STATE_HOME"] ?? join(homedir(), ".local", "state");
  return join(base, "meridian", "prooflog", `${url.replace(/[^A-Za-z0-9.-]+/g, "_")}.checkpoint`);
}

/** The rendered config file's keys, before the service validates them (the kit reports its problems: exit 2). */
async function rawConfigFile(path: string): Promise<Record<string, unknown>> {
  const { ConfigFileError, readConfigFile } = await import("../../runtime/kit/index.js");
  try {
    return readConfigFile(path);
  } catch (e) {
    if (e instanceof ConfigFileError) throw new UserError(e.message);
    throw e;
  }
}

export function register(program: Command): void {
  const log = program.command("log").description("run, audit and prove entries of a transparency log (RFC 6962, C2SP tlog-tiles)");

  log
    .command("serve")
    .description("serve a log: POST /add, GET /checkpoint, tlog-tiles, JSON proofs")
    .option(
      "--config <file>",
      "service config, JSON or YAML (the rendered prooflog.json): origin, witnesses [{name, url, vkey}], sequencerRegion, maxOffsetMs, timeReference, and the kit's `server` section",
    )
    .option("--data <dir>", "directory of the embedded store")
    .option("--postgres <url>", "use PostgreSQL instead of the embedded store")
    .option("--s3 <url>", "use an S3-compatible bucket, path-style <endpoint>/<bucket>[/<prefix>]; credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN, AWS_REGION)")
    .requiredOption("--port <n>", "TCP port (0 picks a free one)")
    .option("--host <host>", "listen address", "127.0.0.1")
    .option("--origin <origin>", "checkpoint origin line, e.g. example.com/log (or `origin` in --config)")
    .requiredOption("--key <file>", "file holding the log's signer key (meridian note keygen)")
    .option("--checkpoint-interval <ms>", "sign a new checkpoint at most this often", "1000")
    .option(
      "--dedupe <n>",
      "duplicate detection: recent entries held in memory in front of the store's persistent leaf-hash index (a resubmitted entry gets its first index, across restarts); 0 disables detection",
      "1000000",
    )
    .option("--max-entry-size <bytes>", "largest entry accepted (tlog-tiles bundles allow 65535)", "65535")
    .option("--witness <url=vkey...>", "ask this witness (URL, then its cosignature verifier key) to cosign every checkpoint; repeatable")
    .option("--witness-quorum <k>", "publish only checkpoints at least k witnesses cosigned", "0")
    .option("--witness-threshold <name=group.json>", "threshold mode: combine the witnesses' partial signatures into one signature under this group key and publish only checkpoints that carry it")
    .option("--witness-timeout <ms>", "per-witness deadline: a hung witness costs only its own signature", "5000")
    .option("--republish-interval <ms>", "re-sign the checkpoint this often even when idle; 0 disables", "60000")
    .option("--checkpoint-file <file>", "keep a copy of every published checkpoint here, apart from the store; the log refuses to start on a store that does not extend it")
    .option("--lock-wait <ms>", "PostgreSQL: wait this long for the single-writer lock (default: wait as a standby)")
    .option("--min-index <n>", "C2SP tlog-tiles pruning: refuse full tiles and bundles that end at or below this index (`log prune` deletes the bundles)", "0")
    .action(
      async (o: {
        config?: string;
        data?: string;
        postgres?: string;
        s3?: string;
        port: string;
        host: string;
        origin?: string;
        key: string;
        checkpointInterval: string;
        dedupe: string;
        maxEntrySize: string;
        witness?: string[];
        witnessQuorum: string;
        witnessThreshold?: string;
        witnessTimeout: string;
        republishInterval: string;
        checkpointFile?: string;
        lockWait?: string;
        minIndex: string;
      }) => {
        const stores = [o.data, o.postgres, o.s3].filter(Boolean).length;
        if (stores > 1 || (stores === 0 && o.config === undefined)) throw new UserError("give exactly one store: --data <dir> (embedded), --postgres <url> or --s3 <url>");
        const file = o.config === undefined ? {} : await rawConfigFile(o.config);
        const fileOrigin = typeof file["origin"] === "string" ? file["origin"] : undefined;
        if (fileOrigin !== undefined && o.origin !== undefined && o.origin !== fileOrigin) throw new UserError(`--origin "${o.origin}" contradicts origin "${fileOrigin}" in ${o.config}; give one`);
        const origin = o.origin ?? fileOrigin;
        if (origin === undefined) throw new UserError("give the checkpoint origin: --origin <origin> (or `origin` in --config)");
        const env = process.env;
        if (o.s3 && (!env["AWS_ACCESS_KEY_ID"] || !env["AWS_SECRET_ACCESS_KEY"])) throw new UserError("--s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
        const { newSigner, NoteError } = await import("../../runtime/prooflog/note.js");
        const signerKey = readKeyArg(o.key, "--key");
        try {
          const s = newSigner(signerKey);
          if (s.name !== origin) process.stderr.write(`meridian: note: key name "${s.name}" differs from origin "${origin}"\n`);
        } catch (e) {
          if (e instanceof NoteError) throw new UserError(`--key: ${e.message}`);
          throw e;
        }
        const maxEntrySize = intArg(o.maxEntrySize, "--max-entry-size", 1);
        if (maxEntrySize > 65_535) throw new UserError("--max-entry-size: entry bundles frame entries with a uint16 length, so at most 65535");
        // Cosigning witnesses of the file first, then --witness flags.
        const fileWitnesses = Array.isArray(file["witnesses"]) ? (file["witnesses"] as unknown[]) : [];
        const flagWitnesses = await Promise.all(
          (o.witness ?? []).map(async (w) => {
            const at = w.indexOf("=");
            if (at < 0 || !/^https?:\/\//.test(w)) throw new UserError(`--witness "${w}": expected <http(s) URL>=<witness verifier key>`);
            const vkey = readKeyArg(w.slice(at + 1), "--witness");
            const [verifier] = await verifiersFrom([vkey]);
            return { name: verifier!.name, url: w.slice(0, at), vkey };
          }),
        );
        const cosigning = fileWitnesses.filter((w) => typeof w === "object" && w !== null && "url" in w && "vkey" in w).length + flagWitnesses.length;
        const quorum = intArg(o.witnessQuorum, "--witness-quorum");
        if (quorum > cosigning) throw new UserError(`--witness-quorum ${quorum} exceeds the ${cosigning} cosigning witnesses given`);
        const { runService } = await import("../../runtime/kit/index.js");
        const { logService } = await import("../../runtime/prooflog/serve.js");
        // One ready line on stdout once bound; a taken port, an unreachable store, or a log that would fork, a
        // corrupt store, a second writer: one line on stderr and exit 1. SIGTERM drains (runtime/kit/run.ts).
        await runService(logService, {
          command: "meridian log serve",
          configFile: o.config,
          overrides: {
            server: { port: intArg(o.port, "--port"), host: o.host },
            origin,
            key: o.key,
            data: o.data,
            postgres: o.postgres,
            s3: o.s3,
            witnesses: flagWitnesses.length ? [...fileWitnesses, ...flagWitnesses] : undefined,
            checkpointFile: o.checkpointFile,
            checkpointIntervalMs: intArg(o.checkpointInterval, "--checkpoint-interval", 1),
            republishIntervalMs: intArg(o.republishInterval, "--republish-interval"),
            dedupe: intArg(o.dedupe, "--dedupe"),
            maxEntrySize,
            witnessQuorum: quorum,
            witnessThreshold: o.witnessThreshold === undefined ? undefined : thresholdArg(o.witnessThreshold, "--witness-threshold"),
            witnessTimeoutMs: intArg(o.witnessTimeout, "--witness-timeout", 1),
            lockWaitMs: o.lockWait === undefined ? undefined : intArg(o.lockWait, "--lock-wait"),
            minIndex: intArg(o.minIndex, "--min-index"),
          },
        });
      },
    );

  log
    .command("witness")
    .description("run a witness (C2SP tlog-witness: add-checkpoint, sign-subtree, monitoring) for the logs whose verifier keys are given")
    .option("--config <file>", "service config, JSON or YAML: key, logs, data, and the kit's `server` section")
    .option("--key <file>", "file holding the witness's signer key (note keygen --type cosignature, or --type mldsa44 for ML-DSA-44 and sign-subtree)")
    .option("--log-vkey <vkey...>", "verifier key of a log to witness (its name is the log origin); repeatable")
    .option("--data <dir>", "where the latest cosigned checkpoint per log is kept")
    .option("--threshold <name=group.json>", "threshold mode: also answer with a partial signature under this group key (needs --share)")
    .option("--share <file>", "this witness's share-<i>.json of the --threshold group (meridian tbls dkg)")
    .option("--port <n>", "TCP port (0 picks a free one; default 8080)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (o: { config?: string; key?: string; logVkey?: string[]; data?: string; threshold?: string; share?: string; port?: string; host?: string }) => {
      if (o.key !== undefined) readKeyArg(o.key, "--key"); // refuses a key typed on the command line
      if ((o.threshold === undefined) !== (o.share === undefined)) throw new UserError("--threshold and --share go together: the group and this witness's share of it");
      const threshold = o.threshold === undefined ? undefined : { ...thresholdArg(o.threshold, "--threshold"), share: o.share! };
      const { runService } = await import("../../runtime/kit/index.js");
      const { witnessService } = await import("../../runtime/prooflog/witness/service.js");
      await runService(witnessService, {
        command: "meridian log witness",
        configFile: o.config,
        overrides: { server: { port: o.port === undefined ? undefined : intArg(o.port, "--port"), host: o.host }, key: o.key, logs: o.logVkey, data: o.data, threshold },
      });
    });

  log
    .command("monitor")
    .description("follow a log from outside: check every checkpoint under a policy, every entry against the signed root, gossip with peers, publish equivocation evidence")
    .option("--config <file>", "service config, JSON or YAML: log, policy (text), peers, intervalMs, stateFile, and the kit's `server` section")
    .option("--log <url>", "the log's base URL")
    .option("--policy <file>", "C2SP tlog-policy file (one log line; witnesses with URLs are also read)")
    .option("--peer <url...>", "another monitor to gossip checkpoints with; repeatable")
    .option("--interval <ms>", "how often to poll the log")
    .option("--state <file>", "keep the evidence and the last verified checkpoint here across restarts")
    .option("--port <n>", "TCP port (0 picks a free one; default 8080)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (o: { config?: string; log?: string; policy?: string; peer?: string[]; interval?: string; state?: string; port?: string; host?: string }) => {
      if (o.policy !== undefined && !existsSync(o.policy)) throw new UserError(`--policy ${o.policy}: no such file`);
      const { runService } = await import("../../runtime/kit/index.js");
      const { monitorService } = await import("../../runtime/prooflog/monitor/service.js");
      await runService(monitorService, {
        command: "meridian log monitor",
        configFile: o.config,
        overrides: {
          server: { port: o.port === undefined ? undefined : intArg(o.port, "--port"), host: o.host },
          log: o.log,
          policy: o.policy === undefined ? undefined : readFileSync(o.policy, "utf8"),
          peers: o.peer,
          intervalMs: o.interval === undefined ? undefined : intArg(o.interval, "--interval", 1),
          stateFile: o.state,
        },
      });
    });

  log
    .command("verify")
    .description("check a log's checkpoint signature, its consistency with the saved checkpoint, and an entry's inclusion; or verify an offline tlog-proof")
    .option("--log <url>", "log base URL")
    .option("--vkey <vkey...>", "the log's verifier key (or file); repeatable. Witness keys are refused here: use --policy")
    .option("--policy <file>", "C2SP tlog-policy file: the trusted logs, witnesses and the quorum every checkpoint must meet")
    .option("--origin <origin>", "expected origin (default: the first log key's name)")
    .option("--threshold <name=group.json>", "require the witness quorum's threshold signature under this group key")
    .option("--index <n>", "also prove this entry is included")
    .option("--state <file>", "where the last verified checkpoint is kept (default under $XDG_STATE_HOME)")
    .option("--tiles", "build proofs from tlog-tiles reads instead of the log's JSON proof endpoints (any tlog-tiles log)")
    .option("--proof <file>", "verify this tlog-proof offline instead of asking the log")
    .option("--entry <file>", "the entry the --proof is for")
    .action(async (o: { log?: string; vkey?: string[]; policy?: string; origin?: string; threshold?: string; index?: string; state?: string; proof?: string; entry?: string; tiles?: boolean }) => {
      const threshold = o.threshold === undefined ? undefined : await thresholdGroup(o.threshold, "--threshold");
      if (!o.vkey === !o.policy) throw new UserError("give the log's key with --vkey, or a --policy file (not both)");
      const { parsePolicy, verifyWithPolicy } = await import("../../runtime/prooflog/policy.js");
      let policy: import("../../runtime/prooflog/policy.js").Policy | null = null;
      if (o.policy) {
        if (!existsSync(o.policy)) throw new UserError(`--policy ${o.policy}: no such file`);
        try {
          policy = parsePolicy(readFileSync(o.policy, "utf8"), o.policy);
        } catch (e) {
          throw new UserError((e as Error).message);
        }
      }
      const verifiers = policy ? policy.logs.map((l) => ({ ...l.verifier, kind: "log" as const })) : await verifiersFrom(o.vkey!);
      const witnessKey = verifiers.find((v) => v.kind === "witness");
      if (witnessKey) throw new UserError(`--vkey ${witnessKey.name} is a witness (cosignature) key: a checkpoint must be signed by the log's own key; put witnesses in a --policy file`);
      if (verifiers.length === 0) throw new UserError(`--policy ${o.policy} lists no log`);
      const origin = o.origin ?? verifiers[0]!.name;
      const meetsPolicy = (note: string) => (policy ? verifyWithPolicy(note, policy, origin).witnesses : []);
      if (o.proof) {
        if (!o.entry) throw new UserError("--proof needs --entry <file> (the entry it proves)");
        const { verifyTlogProof } = await import("../../runtime/prooflog/proof/tlogproof.js");
        const { leafHash } = await import("../../runtime/prooflog/rfc6962.js");
        try {
          const text = readFileSync(o.proof, "utf8");
          const r = verifyTlogProof(text, leafHash(readFileSync(o.entry)), verifiers, origin);
          const { parseTlogProof } = await import("../../runtime/prooflog/proof/tlogproof.js");
          const cosigners = meetsPolicy(parseTlogProof(text).checkpointNote);
          if (threshold) (await import("../../runtime/prooflog/witness/threshold.js")).verifyThresholdCheckpoint(parseTlogProof(text).checkpointNote, verifiers, threshold, origin);
          process.stdout.write(
            `ok: entry ${r.index} is in ${r.checkpoint.origin} at size ${r.checkpoint.size}${policy ? `; witness quorum met (${cosigners.join(", ") || "none required"})` : ""}${threshold ? `; threshold signature of ${threshold.name} verified` : ""}\n`,
          );
        } catch (e) {
          await verificationFailed(e);
        }
        return;
      }
      if (!o.log) throw new UserError("give --log <url> (or --proof and --entry for an offline proof)");
      const index = o.index === undefined ? undefined : intArg(o.index, "--index");
      const state = o.state ?? defaultState(o.log);
      const saved = existsSync(state) ? readFileSync(state, "utf8") : null;
      const { LogClient } = await import("../../runtime/prooflog/client.js");
      const { checkLog } = await import("../../runtime/prooflog/verifier.js");
      try {
        const r = await checkLog(new LogClient(o.log), verifiers, origin, saved, index, { tiles: o.tiles === true, threshold });
        const cosigners = meetsPolicy(r.note); // before saving: a checkpoint below the quorum is never trusted
        mkdirSync(dirname(state), { recursive: true });
        writeFileSync(state, r.note);
        const cp = r.checkpoint;
        process.stdout.write(`ok: checkpoint ${cp.origin} size ${cp.size} root ${Buffer.from(cp.root).toString("base64")} signed by ${origin}\n`);
        if (threshold) process.stdout.write(`threshold signature of ${threshold.name} (${threshold.t} of ${threshold.n} witnesses) verified under the group key\n`);
        if (policy) process.stdout.write(`witness quorum "${policy.quorum}" met by ${cosigners.join(", ") || "(none required)"}\n`);
        process.stdout.write(r.consistentFrom === null ? `no saved checkpoint; saved this one to ${state}\n` : `consistent with the saved checkpoint at size ${r.consistentFrom}\n`);
        if (r.entry) {
          process.stdout.write(`entry ${r.entry.index} (${r.entry.data.length} bytes) is included\n`);
          const { decodeAuditEvent } = await import("../../runtime/prooflog/audit/audit.js");
          try {
            process.stdout.write(`audit event: ${JSON.stringify(decodeAuditEvent(r.entry.data))}\n`);
          } catch {
            // not an audit event: nothing more to show
          }
        }
      } catch (e) {
        await verificationFailed(e);
      }
    });

  log
    .command("proof")
    .description("print an offline proof bundle (C2SP tlog-proof) for an entry; verify it with `log verify --proof`")
    .requiredOption("--log <url>", "log base URL")
    .requiredOption("--index <n>", "entry index")
    .option("--entry-out <file>", "also write the entry bytes here")
    .action(async (o: { log: string; index: string; entryOut?: string }) => {
      const index = intArg(o.index, "--index");
      const { LogClient } = await import("../../runtime/prooflog/client.js");
      const { parseCheckpoint } = await import("../../runtime/prooflog/checkpoint.js");
      const { formatTlogProof } = await import("../../runtime/prooflog/proof/tlogproof.js");
      const client = new LogClient(o.log);
      try {
        const note = await client.checkpoint();
        const cp = parseCheckpoint(note.slice(0, note.indexOf("\n\n") + 1));
        if (index >= cp.size) throw new UserError(`--index ${index} is not below the log's checkpoint size ${cp.size}`);
        const proof = await client.inclusionProof(index, cp.size);
        if (o.entryOut) writeFileSync(o.entryOut, await client.entry(index, cp.size));
        process.stdout.write(formatTlogProof(index, proof, note));
      } catch (e) {
        if (e instanceof UserError) throw e;
        await verificationFailed(e);
      }
    });

  registerBatch(log);
  registerPrune(log);

  log
    .command("add")
    .description("append stdin as one entry and print its index")
    .requiredOption("--log <url>", "log base URL")
    .action(async (o: { log: string }) => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const { LogClient } = await import("../../runtime/prooflog/client.js");
      try {
        const r = await new LogClient(o.log).add(Buffer.concat(chunks));
        process.stdout.write(`${JSON.stringify(r)}\n`);
      } catch (e) {
        await verificationFailed(e);
      }
    });
}
