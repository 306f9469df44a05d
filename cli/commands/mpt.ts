/**
 * `meridian mpt root|prove|verify|prove-range|verify-range`: Ethereum's Merkle Patricia trie over an
 * ethereum/tests TrieTests case. FILE is one case's JSON ({"in": …}) or a whole TrieTests file with --case NAME
 * (a file of one case needs no --case). Keys on the command line follow the case format: `0x…` is hex bytes,
 * anything else UTF-8. Proofs are printed as JSON; the verifiers exit 1 naming the problem when they refuse.
 * `serve` holds one trie over HTTP (runtime/mpt/service.ts), in memory or durably (--data, --postgres).
 */
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { UserError } from "../errors.js";

type Mpt = typeof import("../../runtime/mpt/index.js");
/** The trie, proofs and TrieTests input without the package's HTTP service (whose kit is most of a command's start-up). */
const core = async () => ({
  ...(await import("../../runtime/mpt/errors.js")),
  ...(await import("../../runtime/mpt/input.js")),
  ...(await import("../../runtime/mpt/proof.js")),
  ...(await import("../../runtime/mpt/range.js")),
});

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const HEX = /^0x([0-9a-fA-F]{2})*$/;

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`${what} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UserError(`${what} ${file}: not JSON (${(e as Error).message})`);
  }
}

/** Run `f`, turning the trie's input mistakes (MptError) into usage errors that name `what`. */
function asUsage<T>(inputError: Mpt["MptError"], what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof inputError) throw new UserError(`${what}: ${e.message}`);
    throw e;
  }
}

function hexArg(value: string, what: string, length?: number): Uint8Array {
  if (!HEX.test(value)) throw new UserError(`${what} ${value}: expected 0x-prefixed hex bytes`);
  const b = Buffer.from(value.slice(2), "hex");
  if (length !== undefined && b.length !== length) throw new UserError(`${what} ${value}: expected ${length} bytes, got ${b.length}`);
  return b;
}

async function loadTrie(file: string, opts: { secure?: boolean; case?: string }) {
  const mpt = await core();
  const json = readJson(file, "FILE");
  const trie = asUsage(mpt.MptError, `FILE ${file}`, () => mpt.trieOfCase(mpt.selectCase(json, opts.case).testCase, { secure: opts.secure === true }));
  return { mpt, trie };
}

function refused(e: unknown, proofError: Mpt["MptProofError"]): void {
  if (!(e instanceof proofError)) throw e;
  process.stderr.write(`meridian: proof refused: ${e.message}\n`);
  process.exitCode = 1;
}

export function register(program: Command): void {
  const mpt = program.command("mpt").description("Merkle Patricia trie (Ethereum state trie): roots, inclusion/exclusion proofs and key-range proofs of a TrieTests case");
  const caseOption = ["--case <name>", "the case to use when FILE is a whole TrieTests file of named cases"] as const;
  const secureOption = ["--secure", "secure trie: keys are hashed with keccak-256 (Ethereum's state trie)"] as const;

  mpt
    .command("root")
    .description("print the root hash of the trie a TrieTests case builds")
    .argument("<file>", 'TrieTests case JSON ({"in": …}) or a TrieTests file with --case')
    .option(...secureOption)
    .option(...caseOption)
    .option("--all", "every case of a TrieTests file: print `NAME ROOT` lines, exit 1 naming each case whose `root` differs")
    .action(async (file: string, opts: { secure?: boolean; case?: string; all?: boolean }) => {
      if (!opts.all) {
        const { trie } = await loadTrie(file, opts);
        process.stdout.write(`${hex(trie.rootHash())}\n`);
        return;
      }
      if (opts.case !== undefined) throw new UserError("--all and --case: give one or the other");
      const m = await core();
      const json = readJson(file, "FILE");
      if (json === null || typeof json !== "object" || Array.isArray(json) || "in" in json) throw new UserError(`FILE ${file}: --all needs a file of named cases`);
      let mismatches = 0;
      for (const name of Object.keys(json)) {
        const { testCase } = asUsage(m.MptError, `FILE ${file}`, () => m.selectCase(json, name));
        const got = hex(m.trieOfCase(testCase, { secure: opts.secure === true }).rootHash());
        process.stdout.write(`${name} ${got}\n`);
        if (testCase.root !== undefined && testCase.root.toLowerCase() !== got) {
          process.stderr.write(`meridian: case ${name}: root ${got}, the case expects ${testCase.root}\n`);
          mismatches++;
        }
      }
      if (mismatches > 0) process.exitCode = 1;
    });

  mpt
    .command("prove")
    .description("print a JSON proof (eth_getProof's node list) that KEY holds its value, or is absent")
    .argument("<file>", 'TrieTests case JSON ({"in": …}) or a TrieTests file with --case')
    .argument("<key>", "0x-prefixed hex bytes, or UTF-8 text")
    .option(...secureOption)
    .option(...caseOption)
    .action(async (file: string, keyArg: string, opts: { secure?: boolean; case?: string }) => {
      const { mpt: m, trie } = await loadTrie(file, opts);
      const key = asUsage(m.MptError, "KEY", () => m.decodeTestString(keyArg));
      const value = trie.get(key);
      const out = { root: hex(trie.rootHash()), key: hex(key), secure: trie.secure, value: value && hex(value), proof: trie.prove(key).map(hex) };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });

  mpt
    .command("verify")
    .description('check PROOF.json for KEY against ROOT: print the value (or "absent"), exit 1 naming the problem if refused')
    .argument("<root>", "trusted root hash, 0x + 64 hex digits")
    .argument("<key>", "0x-prefixed hex bytes, or UTF-8 text")
    .argument("<proof>", "JSON file: the output of mpt prove, or a plain array of 0x-hex RLP nodes (eth_getProof)")
    .option(...secureOption)
    .action(async (rootArg: string, keyArg: string, file: string, opts: { secure?: boolean }) => {
      const m = await core();
      const root = hexArg(rootArg, "ROOT", 32);
      const key = asUsage(m.MptError, "KEY", () => m.decodeTestString(keyArg));
      const json = readJson(file, "PROOF");
      const obj = Array.isArray(json) ? { proof: json as unknown } : (json as { proof?: unknown; secure?: unknown } | null);
      if (obj === null || typeof obj !== "object" || !Array.isArray(obj.proof)) throw new UserError(`PROOF ${file}: expected an array of 0x-hex nodes or an object with "proof"`);
      if (typeof obj.secure === "boolean" && obj.secure !== (opts.secure === true))
        throw new UserError(`PROOF ${file} was made for a ${obj.secure ? "secure" : "plain (non-secure)"} trie; ${obj.secure ? "pass" : "drop"} --secure`);
      const nodes = obj.proof.map((n: unknown, i: number) => {
        if (typeof n !== "string") throw new UserError(`PROOF ${file}: node ${i} is not a string`);
        return hexArg(n, `PROOF ${file}: node ${i}`);
      });
      try {
        const value = m.verifyProof(root, key, nodes, { secure: opts.secure === true });
        process.stdout.write(value === null ? "absent\n" : `${hex(value)}\n`);
      } catch (e) {
        refused(e, m.MptProofError);
      }
    });

  mpt
    .command("prove-range")
    .description("print a JSON proof that the listed entries are all the trie holds with LO <= key <= HI")
    .argument("<file>", 'TrieTests case JSON ({"in": …}) or a TrieTests file with --case')
    .argument("<lo>", "lower bound (inclusive) as a trie key: 0x-hex or UTF-8 (in a secure trie, a 32-byte hashed key)")
    .argument("<hi>", "upper bound (inclusive), same form")
    .option(...secureOption)
    .option(...caseOption)
    .action(async (file: string, loArg: string, hiArg: string, opts: { secure?: boolean; case?: string }) => {
      const { mpt: m, trie } = await loadTrie(file, opts);
      const lo = asUsage(m.MptError, "LO", () => m.decodeTestString(loArg));
      const hi = asUsage(m.MptError, "HI", () => m.decodeTestString(hiArg));
      if (Buffer.compare(lo, hi) > 0) throw new UserError(`LO ${loArg} is above HI ${hiArg}`);
      const p = m.proveRange(trie, lo, hi);
      const out = { root: hex(trie.rootHash()), lo: hex(lo), hi: hex(hi), entries: p.entries.map((e) => [hex(e.key), hex(e.value)]), proof: p.proof.map(hex) };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });

  mpt
    .command("verify-range")
    .description("check a prove-range JSON against ROOT: print the entry count and entries, exit 1 naming the problem if refused")
    .argument("<root>", "trusted root hash, 0x + 64 hex digits")
    .argument("<proof>", "JSON file: the output of mpt prove-range")
    .action(async (rootArg: string, file: string) => {
      const m = await core();
      const { z } = await import("zod");
      const root = hexArg(rootArg, "ROOT", 32);
      const Hex = z.string().regex(HEX, "expected 0x-prefixed hex bytes");
      const shape = z.object({ lo: Hex, hi: Hex, entries: z.array(z.tuple([Hex, Hex])), proof: z.array(Hex) });
      const r = shape.safeParse(readJson(file, "PROOF"));
      if (!r.success) throw new UserError(`PROOF ${file}: ${r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")}`);
      const b = (s: string) => Buffer.from(s.slice(2), "hex");
      const proof = { lo: b(r.data.lo), hi: b(r.data.hi), entries: r.data.entries.map(([k, v]) => ({ key: b(k), value: b(v) })), proof: r.data.proof.map(b) };
      try {
        m.checkRangeProof(root, proof);
        process.stdout.write(`complete: ${proof.entries.length} entries in [${r.data.lo}, ${r.data.hi}]\n`);
        for (const [k, v] of r.data.entries) process.stdout.write(`${k} ${v}\n`);
      } catch (e) {
        refused(e, m.MptProofError);
      }
    });

  mpt
    .command("serve")
    .description("serve a trie over HTTP: root, values with proofs, range proofs; PUTs (operators) change it and answer with a proof under the new root")
    .argument("[file]", "TrieTests case JSON to load (default: an empty trie)")
    .option(...secureOption)
    .option(...caseOption)
    .option("--data <dir>", "persist the trie in this directory (snapshot + fsynced journal); a restart comes back to the same root")
    .option("--postgres <url>", "persist the trie in PostgreSQL instead (postgres://user@host:port/db; one trie per database)")
    .option("--config <file>", "service config, JSON or YAML: file, case, secure, store, writers, and the kit's `server` section")
    .option("--port <n>", "TCP port (0 picks a free one; default 8080)")
    .option("--host <host>", "listen address (default 127.0.0.1)")
    .action(async (file: string | undefined, o: { secure?: boolean; case?: string; data?: string; postgres?: string; config?: string; port?: string; host?: string }) => {
      if (o.port !== undefined && !/^[0-9]+$/.test(o.port)) throw new UserError(`--port "${o.port}" must be an integer`);
      if (o.data !== undefined && o.postgres !== undefined) throw new UserError("--data and --postgres: give one store");
      if (o.postgres !== undefined && !/^postgres(ql)?:\/\//.test(o.postgres)) throw new UserError(`--postgres: got "${o.postgres}"; expected postgres://user@host:port/db`);
      const store = o.data !== undefined ? { dir: o.data } : o.postgres !== undefined ? { postgres: o.postgres } : undefined;
      const m = await import("../../runtime/mpt/index.js");
      if (file !== undefined) asUsage(m.MptError, "FILE", () => m.loadTrie({ file, case: o.case, secure: o.secure })); // a bad file is a usage error, before binding
      const { runService } = await import("../../runtime/kit/index.js");
      await runService(m.mptService, {
        command: "meridian mpt serve",
        configFile: o.config,
        overrides: { server: { port: o.port === undefined ? undefined : Number(o.port), host: o.host }, file, case: o.case, secure: o.secure, store },
      });
    });
}
