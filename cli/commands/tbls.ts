/**
 * `meridian tbls deal|verify-share|sign|combine|verify`: (t, n) threshold BLS signatures on BLS12-381 with Feldman
 * VSS. Any t partial signatures combine into one 48-byte signature that verifies as an ordinary BLS signature
 * (noble's short-signature mode, the standard G1 hash) under the group key; fewer cannot.
 */
import { Option, type Command } from "commander";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { numberArg } from "../args.js";
import { UserError } from "../errors.js";

/**
 * The offline commands load the package's pure modules only: its index also exports the DKG's HTTP service, and the
 * service kit behind it (fastify, jose, pg, ioredis, …) was most of every `tbls sign`'s start-up.
 */
const tbls = async () => ({
  ...(await import("../../runtime/tbls/threshold.js")),
  ...(await import("../../runtime/tbls/files.js")),
  ...(await import("../../runtime/tbls/dkg.js")),
});

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

  cmd
    .command("dkg")
    .description(
      "one participant of a Pedersen DKG over HTTP (no dealer): serve this participant's rounds, pull the others', handle complaints, then write OUTDIR/group.json, OUTDIR/share-<index>.json and OUTDIR/evidence.json (transferable evidence against dealers it disqualified; check it with `tbls evidence`), print one JSON result line and exit",
    )
    .requiredOption("--index <i>", "this participant's index, 1..N", numberArg("--index", 1, 1024, true))
    .requiredOption("--t <t>", "threshold: signatures needed", numberArg("--t", 1, 1024, true))
    .requiredOption("--n <n>", "participants", numberArg("--n", 1, 1024, true))
    .requiredOption("--key <file>", "this participant's Ed25519 signer key file (`meridian note keygen` output): every message it serves is signed with it")
    .option("--peers <list>", "the N participants as VKEY@URL (verifier key, base URL), comma-separated, in index order (this one's included)")
    .option("--peers-file <file>", 'instead of --peers: a JSON array of the N participants, [{"url": …, "vkey": …}], waited for until it appears (for port 0)')
    .option("--phase-timeout <seconds>", "how long to wait for each round's messages from each peer (default 30)", numberArg("--phase-timeout", 1, 3600, true))
    .option("--port <n>", "TCP port (0 picks a free one; default 8080)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .option("--config <file>", "the kit's service config (its `server` section: TLS, limits)")
    .addOption(new Option("--dishonest-share-to <i>", "test hook: send participant i a share off the committed polynomial").argParser(numberArg("--dishonest-share-to", 1, 1024, true)).hideHelp())
    .addOption(new Option("--dishonest-reveal", "test hook: answer the complaint with the same bad share").hideHelp())
    .addOption(
      new Option("--equivocate-commitments-to <i>", "test hook: show participant i other (self-consistent) commitments and shares")
        .argParser(numberArg("--equivocate-commitments-to", 1, 1024, true))
        .hideHelp(),
    )
    .argument("<outdir>", "directory to write group.json and share-<index>.json to (created if absent)")
    .action(
      async (
        outdir: string,
        o: {
          index: number;
          t: number;
          n: number;
          key: string;
          peers?: string;
          peersFile?: string;
          phaseTimeout?: number;
          port?: string;
          host?: string;
          config?: string;
          dishonestShareTo?: number;
          dishonestReveal?: boolean;
          equivocateCommitmentsTo?: number;
        },
      ) => {
        if (o.t > o.n) throw new UserError(`--t ${o.t} is greater than --n ${o.n}`);
        if (o.index > o.n) throw new UserError(`--index ${o.index} is greater than --n ${o.n}`);
        if ((o.peers === undefined) === (o.peersFile === undefined)) throw new UserError("give either --peers <urls> or --peers-file <file>");
        if (o.port !== undefined && !/^[0-9]+$/.test(o.port)) throw new UserError(`--port "${o.port}" must be an integer`);
        const phaseMs = (o.phaseTimeout ?? 30) * 1000;
        const { readKeyArg } = await import("./note.js");
        const { newSigner, newVerifier, NoteError } = await import("../../runtime/prooflog/note.js");
        if (!existsSync(o.key)) throw new UserError(`--key ${o.key}: no such file (make one with \`meridian note keygen --name NAME > FILE\`)`);
        const key = readKeyArg(o.key, "--key");
        try {
          newSigner(key);
        } catch (e) {
          if (e instanceof NoteError) throw new UserError(`--key ${o.key}: ${e.message}`);
          throw e;
        }
        type Peer = { url: string; vkey: string };
        const parsePeers = (list: unknown, from: string): Peer[] => {
          const ok = (p: unknown): p is Peer =>
            typeof p === "object" && p !== null && typeof (p as Peer).url === "string" && /^https?:\/\/\S+$/.test((p as Peer).url) && typeof (p as Peer).vkey === "string";
          if (!Array.isArray(list) || list.length !== o.n || !list.every(ok))
            throw new UserError(`${from}: expected ${o.n} participants {url: http(s) URL, vkey: verifier key}, got ${JSON.stringify(list).slice(0, 200)}`);
          for (const [k, p] of list.entries())
            try {
              newVerifier(p.vkey);
            } catch (e) {
              if (e instanceof NoteError) throw new UserError(`${from}: participant ${k + 1}: ${e.message}`);
              throw e;
            }
          return list;
        };
        const splitPeer = (entry: string) => {
          const at = entry.indexOf("@");
          return at < 0 ? entry : { vkey: entry.slice(0, at), url: entry.slice(at + 1) };
        };
        let peers = o.peers === undefined ? undefined : parsePeers(o.peers.split(",").map(splitPeer), "--peers (VKEY@URL,…)");
        const { groupJson, shareJson, ThresholdError } = await tbls();
        const [{ dkgService }, { awaitPeers, runDkg }] = await Promise.all([import("../../runtime/tbls/dkg-http.js"), import("../../runtime/tbls/dkg-run.js")]);
        const { runService } = await import("../../runtime/kit/index.js");
        const running = await runService(dkgService, {
          command: "meridian tbls dkg",
          configFile: o.config,
          overrides: {
            server: { port: o.port === undefined ? undefined : Number(o.port), host: o.host },
            index: o.index,
            t: o.t,
            n: o.n,
            dishonestShareTo: o.dishonestShareTo,
            dishonestReveal: o.dishonestReveal,
            equivocateCommitmentsTo: o.equivocateCommitmentsTo,
          },
        });
        const log = (line: string) => process.stderr.write(`meridian tbls dkg [${o.index}]: ${line}\n`);
        const stop = async (code: number) => {
          await running.close();
          process.exit(code);
        };
        if (peers === undefined) {
          const deadline = Date.now() + phaseMs;
          while (!existsSync(o.peersFile!)) {
            if (Date.now() > deadline) {
              log(`${o.peersFile}: did not appear within ${phaseMs / 1000} s`);
              return stop(1);
            }
            await new Promise((r) => setTimeout(r, 100));
          }
          let list: unknown;
          try {
            list = JSON.parse(readFileSync(o.peersFile!, "utf8"));
          } catch (e) {
            log(`${o.peersFile}: not JSON (${(e as Error).message})`);
            return stop(2);
          }
          try {
            peers = parsePeers(list, o.peersFile!);
          } catch (e) {
            log((e as Error).message);
            return stop(2);
          }
        }
        const opts = { peers, key, keys: { signer: newSigner, verifier: newVerifier }, phaseMs, log };
        let result;
        try {
          result = await runDkg(running.parts.participant, opts);
        } catch (e) {
          if (!(e instanceof ThresholdError)) throw e;
          log(`failed: ${e.message}`);
          return stop(1);
        }
        mkdirSync(outdir, { recursive: true });
        writeFileSync(join(outdir, "group.json"), `${JSON.stringify(groupJson({ t: o.t, n: o.n, commitments: result.commitments, shares: [] }), null, 2)}\n`);
        const file = join(outdir, `share-${o.index}.json`);
        writeFileSync(file, `${JSON.stringify(shareJson(result.share))}\n`, { mode: 0o600 });
        chmodSync(file, 0o600);
        const evidence = running.parts.participant.evidence ?? [];
        writeFileSync(join(outdir, "evidence.json"), `${JSON.stringify(evidence, null, 2)}\n`);
        const disagreements = await awaitPeers(running.parts.participant, opts);
        for (const d of disagreements) log(d);
        process.stdout.write(
          `${JSON.stringify({ index: o.index, groupPublicKey: Buffer.from(result.groupPublicKey).toString("hex"), qual: result.qual, disqualified: result.disqualified, share: file })}\n`,
        );
        return stop(disagreements.length > 0 ? 1 : 0);
      },
    );

  cmd
    .command("evidence")
    .description(
      "check DKG evidence (a dkg run's evidence.json, GET /v1/dkg/evidence, or one item) against the run's roster: print each dealer it convicts and why; exit 0 when every item convicts its dealer, 1 when one proves nothing",
    )
    .argument("<file>", "evidence JSON")
    .requiredOption("--peers-file <file>", 'the run\'s roster: JSON [{"url": …, "vkey": …}] in index order (it fixes the session and the dealers\' keys)')
    .action(async (file: string, o: { peersFile: string }) => {
      const { evidenceContext } = await import("../../runtime/tbls/dkg-run.js");
      const { verifyDkgEvidence } = await import("../../runtime/tbls/evidence.js");
      const { newVerifier, NoteError } = await import("../../runtime/prooflog/note.js");
      const json = (f: string, what: string): unknown => {
        try {
          return JSON.parse(readFileSync(f, "utf8")) as unknown;
        } catch (e) {
          throw new UserError(`${what} ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      };
      const raw = json(file, "evidence");
      const items = (
        Array.isArray(raw) ? raw : typeof raw === "object" && raw !== null && Array.isArray((raw as { evidence?: unknown }).evidence) ? (raw as { evidence: unknown[] }).evidence : [raw]
      ) as never[];
      if (items.length === 0) throw new UserError(`evidence ${file}: holds no evidence`);
      const peers = json(o.peersFile, "--peers-file") as { url: string; vkey: string }[];
      if (!Array.isArray(peers) || peers.some((p) => typeof p?.url !== "string" || typeof p?.vkey !== "string")) throw new UserError(`--peers-file ${o.peersFile}: expected [{url, vkey}, …]`);
      const verifiers = peers.map((p, k) => {
        try {
          return newVerifier(p.vkey);
        } catch (e) {
          if (e instanceof NoteError) throw new UserError(`--peers-file ${o.peersFile}: participant ${k + 1}: ${e.message}`);
          throw e;
        }
      });
      let refused = 0;
      for (const [k, ev] of items.entries()) {
        const { t, n } = (ev ?? {}) as { t?: unknown; n?: unknown };
        const v =
          Number.isInteger(t) && n === peers.length
            ? verifyDkgEvidence(ev, evidenceContext(t as number, n, peers, verifiers))
            : { guilty: false as const, reason: `it is for n = ${String(n)}, the roster has ${peers.length}` };
        if (v.guilty) process.stdout.write(`guilty: ${v.reason}\n`);
        else {
          refused++;
          process.stderr.write(`meridian: evidence ${k + 1} proves nothing: ${v.reason}\n`);
        }
      }
      if (refused > 0) process.exitCode = 1;
    });

  cmd
    .command("reshare")
    .description("as an old share holder, deal a Feldman VSS of your share to a new committee: OUTDIR/reshare-from-<i>.json (commitments public, each sub-share for its new member only)")
    .requiredOption("--group <file>", "the old group.json")
    .requiredOption("--share <file>", "your old share-<i>.json")
    .requiredOption("--t <t>", "the new committee's threshold", numberArg("--t", 1, 1024, true))
    .requiredOption("--n <n>", "the new committee's size", numberArg("--n", 1, 1024, true))
    .argument("<outdir>", "directory to write (created if absent)")
    .action(async (outdir: string, o: { group: string; share: string; t: number; n: number }) => {
      if (o.t > o.n) throw new UserError(`--t ${o.t} is greater than --n ${o.n}`);
      const { readGroup, readShare, reshareContribution, resharingJson, verifyShare } = await tbls();
      const group = await user(() => readGroup(o.group));
      const share = await user(() => readShare(o.share));
      if (!verifyShare(group.commitments, share)) throw new UserError(`${o.share}: share ${share.index} does not match the commitments in ${o.group}`);
      const c = await user(() => reshareContribution(share, o.t, o.n));
      const { scalarToBytes } = await import("../../runtime/tbls/shamir.js");
      mkdirSync(outdir, { recursive: true });
      const file = join(outdir, `reshare-from-${share.index}.json`);
      const subshares = new Map([...c.shares].map(([j, v]) => [j, scalarToBytes(v)]));
      writeFileSync(file, `${JSON.stringify(resharingJson({ from: share.index, t: o.t, n: o.n, commitments: c.commitments, subshares }))}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
      process.stdout.write(`wrote ${file}: share ${share.index} reshared ${o.t}-of-${o.n}\n`);
    });

  cmd
    .command("reshare-combine")
    .description(
      "as new member INDEX, check the old holders' resharings (each must reshare its own old share) and combine old-t of them: OUTDIR/group.json (same group key) and OUTDIR/share-<index>.json",
    )
    .requiredOption("--group <file>", "the old group.json")
    .requiredOption("--index <j>", "your index in the new committee", numberArg("--index", 1, 1024, true))
    .argument("<outdir>", "directory to write (created if absent)")
    .argument("<resharings...>", "reshare-from-<i>.json files from at least old-t holders")
    .action(async (outdir: string, files: string[], o: { group: string; index: number }) => {
      const { groupJson, readGroup, readResharing, reshareFinish, shareJson } = await tbls();
      const { scalarFromBytes } = await import("../../runtime/tbls/shamir.js");
      const group = await user(() => readGroup(o.group));
      const resharings = await Promise.all(files.map((f) => user(() => readResharing(f))));
      const { t, n } = resharings[0]!;
      for (const [k, r] of resharings.entries()) {
        if (r.t !== t || r.n !== n) throw new UserError(`${files[k]}: reshares ${r.t}-of-${r.n}, ${files[0]} ${t}-of-${n}`);
        if (r.from > group.n) throw new UserError(`${files[k]}: from ${r.from} > the old n = ${group.n}`);
      }
      if (o.index > n) throw new UserError(`--index ${o.index} is greater than the new n = ${n}`);
      const dealings = new Map(resharings.map((r) => [r.from, { commitments: r.commitments, subshare: scalarFromBytes(r.subshares.get(o.index) ?? new Uint8Array(32)) }]));
      const result = await user(() => reshareFinish({ t: group.t, commitments: group.commitments }, t, o.index, dealings));
      for (const r of result.rejected) process.stderr.write(`meridian: tbls reshare-combine: rejected old holder ${r.dealer}: ${r.reason}\n`);
      mkdirSync(outdir, { recursive: true });
      writeFileSync(join(outdir, "group.json"), `${JSON.stringify(groupJson({ t, n, commitments: result.commitments, shares: [] }), null, 2)}\n`);
      const file = join(outdir, `share-${o.index}.json`);
      writeFileSync(file, `${JSON.stringify(shareJson(result.share))}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
      const same = Buffer.from(result.commitments[0]!).equals(Buffer.from(group.groupPublicKey));
      process.stdout.write(
        `member ${o.index} of ${t}-of-${n} from old holders ${result.dealers.join(", ")}; group key ${same ? "unchanged" : "CHANGED"} ${Buffer.from(result.commitments[0]!).toString("hex")}\n`,
      );
      if (!same) process.exitCode = 1;
    });
}
