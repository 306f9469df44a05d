/**
 * `meridian das encode|decode|sample`: data availability — Reed–Solomon erasure coding over GF(2^8) into n shards of
 * which any k rebuild the file, an RFC 6962 Merkle commitment to the shards, and random sampling with the bound on
 * being fooled by withheld data.
 *
 * decode exits 0 when it rebuilt the file from shards that all matched the commitment (missing shards are the
 * normal erasure case), 3 when it rebuilt the file but excluded shards that failed their proof (named on stderr),
 * 1 when fewer than k good shards remain (naming the missing and bad ones; nothing is written), 2 on usage errors.
 */
import type { Command } from "commander";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { numberArg } from "../args.js";
import { UserError } from "../errors.js";

const MAX_N = 256;
const EXIT_TAMPERED = 3;

function checkShape(k: number, n: number): void {
  if (k > n) throw new UserError(`--k ${k} is greater than --n ${n}: k data shards need n ≥ k shards in all`);
}

const fmt = (p: number): string => (p === 0 ? "0" : p.toPrecision(6));

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function register(program: Command): void {
  const das = program.command("das").description("data availability: Reed–Solomon erasure coding over GF(2^8), Merkle commitments to shards, sampling");

  das
    .command("encode")
    .description("write systematic shards OUTDIR/0..N-1 (the first K are the data) and OUTDIR/commitment.json")
    .requiredOption("--k <k>", "data shards: any K of the N rebuild the file", numberArg("--k", 1, MAX_N, true))
    .requiredOption("--n <n>", `total shards (K ≤ N ≤ ${MAX_N})`, numberArg("--n", 1, MAX_N, true))
    .argument("<file>", "file to encode")
    .argument("<outdir>", "directory for the shards and commitment.json (created if absent)")
    .action(async (file: string, outdir: string, opts: { k: number; n: number }) => {
      checkShape(opts.k, opts.n);
      if (!existsSync(file)) throw new UserError(`${file}: no such file to encode`);
      const { encodeBlob, writeEncoded } = await import("../../runtime/das/index.js");
      const encoded = encodeBlob(readFileSync(file), opts.k, opts.n);
      writeEncoded(outdir, encoded);
      const c = encoded.commitment;
      process.stdout.write(`encoded ${file} (${c.length} bytes) into ${c.n} shards of ${c.shardSize} bytes, any ${c.k} rebuild it\nroot ${c.root}\n`);
    });

  das
    .command("decode")
    .description("rebuild the file from any K shards in OUTDIR that match its commitment (exit 3: rebuilt, but bad shards excluded; 1: too few good shards)")
    .requiredOption("--k <k>", "data shards (must match commitment.json)", numberArg("--k", 1, MAX_N, true))
    .requiredOption("--n <n>", "total shards (must match commitment.json)", numberArg("--n", 1, MAX_N, true))
    .argument("<outdir>", "directory written by `meridian das encode`")
    .argument("<out>", "file to write the rebuilt data to")
    .action(async (outdir: string, out: string, opts: { k: number; n: number }) => {
      checkShape(opts.k, opts.n);
      const { DasError, decodeBlob, readCommitment, readShards } = await import("../../runtime/das/index.js");
      let c;
      try {
        c = readCommitment(outdir);
      } catch (e) {
        if (e instanceof DasError) throw new UserError(e.message);
        throw e;
      }
      if (c.k !== opts.k || c.n !== opts.n) throw new UserError(`--k ${opts.k} --n ${opts.n} do not match ${outdir}/commitment.json (k ${c.k}, n ${c.n})`);
      let decoded;
      try {
        decoded = decodeBlob(c, readShards(outdir, c.n));
      } catch (e) {
        if (!(e instanceof DasError)) throw e;
        process.stderr.write(`meridian: das decode: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      writeFileSync(out, decoded.blob);
      for (const b of decoded.bad) process.stderr.write(`meridian: das decode: shard ${b.index} ${b.reason}; excluded\n`);
      const missing = decoded.missing.length > 0 ? `; missing: ${decoded.missing.join(", ")}` : "";
      const bad = decoded.bad.length > 0 ? `; excluded (failed their proof): ${decoded.bad.map((b) => b.index).join(", ")}` : "";
      process.stdout.write(`rebuilt ${out} (${c.length} bytes) from ${c.n - decoded.missing.length - decoded.bad.length} of ${c.n} shards${missing}${bad}\n`);
      if (decoded.bad.length > 0) process.exitCode = EXIT_TAMPERED;
    });

  das
    .command("sample")
    .description("check S distinct random shards (in OUTDIR, or from a `das serve` with --from) against the commitment and print the chance that unrecoverable data passes S samples")
    .requiredOption("--samples <s>", "number of distinct shards to sample (1..N)", numberArg("--samples", 1, MAX_N, true))
    .option("--seed <seed>", "seed the shard choice (reproducible runs); default: crypto-random", numberArg("--seed", 0, 2 ** 32 - 1, true))
    .option("--from <url>", "sample over HTTP from `meridian das serve` at this URL instead of a directory")
    .option("--root <hex>", "with --from: the commitment root you trust (from a header or checkpoint); every sampled shard must prove inclusion under it")
    .option("--json", "print one JSON object")
    .argument("[outdir]", "directory written by `meridian das encode` (without --from)")
    .action(async (outdir: string | undefined, opts: { samples: number; seed?: number; from?: string; root?: string; json?: boolean }) => {
      const { DasError, checkShard, chooseSamples, fetchCommitment, readCommitment, readShard, samplingBound, sampleRemote } = await import("../../runtime/das/index.js");
      const { randomInt } = await import("node:crypto");
      if (opts.from ? outdir !== undefined : outdir === undefined) throw new UserError("give either OUTDIR or --from <url>");
      if (opts.from && !(opts.root && /^[0-9a-f]{64}$/.test(opts.root))) throw new UserError("--from needs --root <64 hex digits>: the root you trust; the server's own root proves nothing");
      let c: { k: number; n: number; shardSize: number; root: string };
      try {
        c = opts.from ? await fetchCommitment(opts.from.replace(/\/+$/, "")) : readCommitment(outdir!);
      } catch (e) {
        if (e instanceof DasError) throw new UserError(e.message);
        throw e;
      }
      if (opts.samples > c.n) throw new UserError(`--samples ${opts.samples}: at most n = ${c.n} distinct shards can be sampled`);
      const random = opts.seed === undefined ? () => randomInt(2 ** 32) / 2 ** 32 : mulberry32(opts.seed);
      const indices = chooseSamples(c.n, opts.samples, random);
      const results: { index: number; ok: boolean; problem?: string }[] = [];
      if (opts.from) {
        if (c.root !== opts.root) process.stderr.write(`meridian: das sample: the server's root ${c.root} is not --root; its shards must still prove inclusion under --root\n`);
        for (const index of indices) results.push(await sampleRemote(opts.from.replace(/\/+$/, ""), c, opts.root!, index));
      } else {
        const local = c as Parameters<typeof checkShard>[0];
        for (const index of indices) {
          const shard = readShard(outdir!, index);
          const problem = shard ? checkShard(local, index, shard) : "is missing";
          results.push({ index, ok: problem === undefined, ...(problem ? { problem } : {}) });
        }
      }
      const failed = results.filter((r) => !r.ok);
      const bound = samplingBound(c.k, c.n, opts.samples);
      if (opts.json) process.stdout.write(`${JSON.stringify({ samples: results, available: failed.length === 0, bound })}\n`);
      else {
        const lines = [
          `sampled ${opts.samples} of ${c.n} shards without replacement: ${results.map((r) => `${r.index} ${r.ok ? "ok" : r.problem?.startsWith("is missing") ? "MISSING" : "BAD"}`).join(", ")}`,
          `k=${c.k} n=${c.n}: the data is unrecoverable only if ≥ ${bound.withhold} shards are withheld, so a random sample succeeds with probability ≤ ${c.k - 1}/${c.n}`,
          `P(unrecoverable data passes ${opts.samples} samples) ≤ ${fmt(bound.withoutReplacement)} (without replacement: C(${c.k - 1},${opts.samples})/C(${c.n},${opts.samples}))`,
          `with replacement the bound is ((k-1)/n)^s = ${fmt(bound.withReplacement)}`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
      }
      if (failed.length > 0) {
        for (const f of failed) process.stderr.write(`meridian: das sample: shard ${f.index} ${f.problem}\n`);
        process.stderr.write(`meridian: das sample: ${failed.length} of ${opts.samples} samples failed: the data may be unavailable (try \`meridian das decode\`)\n`);
        process.exitCode = 1;
      }
    });

  das
    .command("serve")
    .description("serve OUTDIR's shards with their inclusion proofs over HTTP for sampling (GET /v1/das/commitment, /v1/das/shards/:index)")
    .option("--config <file>", "service config, JSON or YAML: dir, and the kit's `server` section")
    .option("--dir <outdir>", "directory written by `meridian das encode`")
    .option("--port <n>", "TCP port (0 picks a free one; default 8080)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (o: { config?: string; dir?: string; port?: string; host?: string }) => {
      if (o.port !== undefined && !/^[0-9]+$/.test(o.port)) throw new UserError(`--port "${o.port}" must be an integer`);
      const { DasError, dasService, readCommitment } = await import("../../runtime/das/index.js");
      if (o.dir) {
        try {
          readCommitment(o.dir);
        } catch (e) {
          if (e instanceof DasError) throw new UserError(e.message);
          throw e;
        }
      }
      const { runService } = await import("../../runtime/kit/index.js");
      await runService(dasService, {
        command: "meridian das serve",
        configFile: o.config,
        overrides: { server: { port: o.port === undefined ? undefined : Number(o.port), host: o.host }, dir: o.dir },
      });
    });
}
