/**
 * The Merkle Patricia trie over HTTP (kit), `meridian mpt serve`: one trie, loaded from a TrieTests case file or
 * built by PUTs, served with proofs a client checks against a root it trusts (`mpt verify`, `verifyProof`).
 *
 *   GET /v1/mpt/root                  → {root, secure}
 *   GET /v1/mpt/keys/:key             → {root, key, secure, value, proof}   value null + exclusion proof when absent
 *   GET /v1/mpt/range?lo=K&hi=K       → {root, lo, hi, entries, proof}      every entry with lo ≤ trie key ≤ hi
 *   PUT /v1/mpt/keys/:key  {value}    → {previousRoot, root, key, secure, value, proof}   null or "" deletes
 *
 * Keys and values are written as in TrieTests: `0x…` is hex bytes, anything else UTF-8 (so `mpt prove`'s output and
 * this one's have one shape). Range bounds are trie keys (keccak-256 of the key in a secure trie). Reads are public;
 * writes need the configured writers (default: operators). The trie lives in memory: a restart reloads the file.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { defineService, HttpError, parseInput } from "../kit/index.js";
import { MptError, MptProofError } from "./errors.js";
import { decodeTestString, selectCase, trieOfCase } from "./input.js";
import { proveRange } from "./range.js";
import { MerklePatriciaTrie } from "./trie.js";

const mptConfigSchema = z
  .object({
    /** A TrieTests case ({"in": …}) or a file of named cases (with `case`). Default: an empty trie. */
    file: z.string().min(1).optional(),
    case: z.string().min(1).optional(),
    /** Key the trie by keccak-256(key) (Ethereum's state trie). */
    secure: z.boolean().optional(),
    /** Who may PUT: SPIFFE IDs, or a JWT scope. Default: the kit's operators. */
    writers: z
      .object({ spiffe: z.array(z.string().startsWith("spiffe://")).min(1).optional(), scope: z.string().min(1).optional() })
      .strict()
      .optional(),
  })
  .strict();

/** Most entries one range answer carries (a wider range is refused: ask for narrower ones). */
const MAX_RANGE_ENTRIES = 10_000;
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const keyParam = z.object({ key: z.string().min(1) }).strict();
const rangeQuery = z.object({ lo: z.string().min(1).max(200), hi: z.string().min(1).max(200) }).strict();
const putBody = z.object({ value: z.string().max(65_536).nullable() }).strict();

/** Decode a key or value in TrieTests form, or answer 400 naming `what`. */
function decode(s: string, what: string): Uint8Array {
  try {
    return decodeTestString(s);
  } catch (e) {
    if (e instanceof MptError) throw new HttpError(400, `bad ${what}`, e.message);
    throw e;
  }
}

/** The trie the service starts with. Throws MptError naming what is wrong with the file. */
export function loadTrie(config: { file?: string; case?: string; secure?: boolean }): MerklePatriciaTrie {
  const secure = config.secure === true;
  if (config.file === undefined) {
    if (config.case !== undefined) throw new MptError("case needs a file");
    return new MerklePatriciaTrie({ secure });
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(config.file, "utf8"));
  } catch (e) {
    throw new MptError(`${config.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return trieOfCase(selectCase(json, config.case).testCase, { secure });
  } catch (e) {
    if (e instanceof MptError) throw new MptError(`${config.file}: ${e.message}`);
    throw e;
  }
}

export const mptService = defineService({
  name: "mpt",
  config: mptConfigSchema,
  start({ config }) {
    const trie = loadTrie(config);
    const proofOf = (key: Uint8Array) => {
      const value = trie.get(key);
      return { root: hex(trie.rootHash()), key: hex(key), secure: trie.secure, value: value && hex(value), proof: trie.prove(key).map(hex) };
    };
    const writeAuth = config.writers?.spiffe ? { spiffe: config.writers.spiffe } : config.writers?.scope ? { scope: config.writers.scope } : ("operator" as const);
    return {
      trie,
      routes(app) {
        app.get("/v1/mpt/root", { config: { auth: "public" } }, async () => ({ root: hex(trie.rootHash()), secure: trie.secure }));
        app.get("/v1/mpt/keys/:key", { config: { auth: "public" } }, async (req) => proofOf(decode(parseInput(keyParam, req.params, "path").key, "key")));
        app.get("/v1/mpt/range", { config: { auth: "public" } }, async (req) => {
          const q = parseInput(rangeQuery, req.query, "query");
          const lo = decode(q.lo, "lo");
          const hi = decode(q.hi, "hi");
          if (Buffer.compare(lo, hi) > 0) throw new HttpError(400, "bad range", `lo ${q.lo} is above hi ${q.hi}`);
          let p;
          try {
            p = proveRange(trie, lo, hi);
          } catch (e) {
            if (e instanceof MptProofError) throw new HttpError(400, "bad range", e.message);
            throw e;
          }
          if (p.entries.length > MAX_RANGE_ENTRIES) throw new HttpError(413, "range too wide", `${p.entries.length} entries; at most ${MAX_RANGE_ENTRIES} per answer`);
          return { root: hex(trie.rootHash()), lo: hex(lo), hi: hex(hi), entries: p.entries.map((e) => [hex(e.key), hex(e.value)]), proof: p.proof.map(hex) };
        });
        app.put("/v1/mpt/keys/:key", { config: { auth: writeAuth }, bodyLimit: 256 * 1024 }, async (req) => {
          const key = decode(parseInput(keyParam, req.params, "path").key, "key");
          const { value } = parseInput(putBody, req.body, "body");
          const previousRoot = hex(trie.rootHash());
          if (value === null) trie.delete(key);
          else trie.put(key, decode(value, "value")); // an empty value deletes, as in Ethereum's trie
          return { previousRoot, ...proofOf(key) };
        });
      },
    };
  },
});
