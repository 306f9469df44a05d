/**
 * The Merkle Patricia trie over HTTP (kit), `meridian mpt serve`: one trie, loaded from a TrieTests case file or
 * built by PUTs, served with proofs a client checks against a root it trusts (`mpt verify`, `verifyProof`).
 *
 *   GET /v1/mpt/root                  → {root, revision, secure}
 *   GET /v1/mpt/keys/:key             → {root, revision, key, secure, value, proof}   value null + exclusion proof when absent
 *   GET /v1/mpt/range?lo=K&hi=K       → {root, revision, lo, hi, entries, proof}      every entry with lo ≤ trie key ≤ hi
 *   PUT /v1/mpt/keys/:key  {value}    → {previousRoot, root, revision, key, secure, value, proof}   null or "" deletes
 *
 * Keys and values are written as in TrieTests: `0x…` is hex bytes, anything else UTF-8 (so `mpt prove`'s output and
 * this one's have one shape). Range bounds are trie keys (keccak-256 of the key in a secure trie). Reads are public;
 * writes need the configured writers (default: operators).
 *
 * With a store (`store: {dir}` / `{postgres}`, `--data` / `--postgres`) a PUT is answered only once its change is
 * durable, and the new root becomes visible to readers only then; a change the store cannot record is refused (503)
 * and the trie stays as it was. A restart rebuilds the trie from the store, checking every recorded root
 * (recover.ts). Without a store the trie lives in memory: a restart reloads the file.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { defineService, HttpError, parseInput } from "../kit/index.js";
import { DirectoryLockedError } from "../common/dir-lock.js";
import { MptError, MptProofError } from "./errors.js";
import { decodeTestString, selectCase, trieOfCase } from "./input.js";
import { proveRange } from "./range.js";
import { recoverTrie } from "./recover.js";
import { FileMptStore } from "./store/file.js";
import type { MptStore } from "./store/port.js";
import { PostgresMptStore } from "./store/postgres.js";
import { MerklePatriciaTrie } from "./trie.js";

const mptConfigSchema = z
  .object({
    /** A TrieTests case ({"in": …}) or a file of named cases (with `case`). Default: an empty trie. */
    file: z.string().min(1).optional(),
    case: z.string().min(1).optional(),
    /** Key the trie by keccak-256(key) (Ethereum's state trie). */
    secure: z.boolean().optional(),
    /** Where the trie persists: a directory, or a PostgreSQL URL. Default: memory (a restart reloads `file`). */
    store: z.union([z.object({ dir: z.string().min(1) }).strict(), z.object({ postgres: z.string().regex(/^postgres(ql)?:\/\//, "expected postgres://…") }).strict()]).optional(),
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
/**
 * Largest key and value a PUT may write (decoded bytes): Ethereum's keys are 20–32 bytes, account values ~110.
 * (A path longer than the kit's `limits.paramLength`, 256 characters by default, is refused before this: 414.)
 */
export const MAX_KEY_BYTES = 64;
export const MAX_VALUE_BYTES = 32 * 1024;
const keyParam = z.object({ key: z.string().min(1) }).strict();
const rangeQuery = z.object({ lo: z.string().min(1).max(200), hi: z.string().min(1).max(200) }).strict();
const putBody = z
  .object({
    value: z
      .string()
      .max(4 * MAX_VALUE_BYTES + 2, `at most ${MAX_VALUE_BYTES} bytes`)
      .nullable(),
  })
  .strict();

/** Decode a key or value in TrieTests form, or answer 400 naming `what` (413 when over `max` bytes). */
function decode(s: string, what: string, max?: number): Uint8Array {
  let b: Uint8Array;
  try {
    b = decodeTestString(s);
  } catch (e) {
    if (e instanceof MptError) throw new HttpError(400, `bad ${what}`, e.message);
    throw e;
  }
  if (max !== undefined && b.length > max) throw new HttpError(413, `${what} too large`, `the ${what} is ${b.length} bytes; at most ${max}`);
  return b;
}

function openStore(s: z.output<typeof mptConfigSchema>["store"]): MptStore | null {
  if (!s) return null;
  try {
    return "dir" in s ? new FileMptStore(s.dir) : new PostgresMptStore(s.postgres);
  } catch (e) {
    if (e instanceof DirectoryLockedError) throw new MptError(`refusing to start: ${e.message}`);
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
  stores: (config) => ({ postgres: config.store && "postgres" in config.store ? { kind: "postgres", url: config.store.postgres } : undefined }),
  async start({ config, log }) {
    const seed = loadTrie(config);
    const store = openStore(config.store);
    // The trie readers see: replaced (never changed in place) once a PUT's change is durable.
    let held: { trie: MerklePatriciaTrie; revision: number } = { trie: seed, revision: 0 };
    if (store) {
      try {
        const r = await recoverTrie(store, seed, config.file !== undefined);
        if (r.notice) log.warn({ store: store.description }, r.notice);
        held = { trie: r.trie, revision: r.revision };
      } catch (e) {
        await store.close();
        throw e;
      }
    }
    log.info({ store: store?.description ?? "memory", revision: held.revision, root: hex(held.trie.rootHash()) }, "trie ready");
    const proofOf = (h: typeof held, key: Uint8Array) => {
      const value = h.trie.get(key);
      return { root: hex(h.trie.rootHash()), revision: h.revision, key: hex(key), secure: h.trie.secure, value: value && hex(value), proof: h.trie.prove(key).map(hex) };
    };
    const writeAuth = config.writers?.spiffe ? { spiffe: config.writers.spiffe } : config.writers?.scope ? { scope: config.writers.scope } : ("operator" as const);
    let queue: Promise<unknown> = Promise.resolve();
    /** Set when the store failed mid-change: what it holds is uncertain until a restart reads it back. */
    let broken: string | null = null;
    return {
      get trie() {
        return held.trie;
      },
      close: async () => {
        await queue;
        await store?.close();
      },
      routes(app) {
        app.get("/v1/mpt/root", { config: { auth: "public" } }, async () => ({ root: hex(held.trie.rootHash()), revision: held.revision, secure: held.trie.secure }));
        app.get("/v1/mpt/keys/:key", { config: { auth: "public" } }, async (req) => proofOf(held, decode(parseInput(keyParam, req.params, "path").key, "key")));
        app.get("/v1/mpt/range", { config: { auth: "public" } }, async (req) => {
          const q = parseInput(rangeQuery, req.query, "query");
          const lo = decode(q.lo, "lo");
          const hi = decode(q.hi, "hi");
          if (Buffer.compare(lo, hi) > 0) throw new HttpError(400, "bad range", `lo ${q.lo} is above hi ${q.hi}`);
          const h = held;
          let p;
          try {
            p = proveRange(h.trie, lo, hi);
          } catch (e) {
            if (e instanceof MptProofError) throw new HttpError(400, "bad range", e.message);
            throw e;
          }
          if (p.entries.length > MAX_RANGE_ENTRIES) throw new HttpError(413, "range too wide", `${p.entries.length} entries; at most ${MAX_RANGE_ENTRIES} per answer`);
          return { root: hex(h.trie.rootHash()), revision: h.revision, lo: hex(lo), hi: hex(hi), entries: p.entries.map((e) => [hex(e.key), hex(e.value)]), proof: p.proof.map(hex) };
        });
        app.put("/v1/mpt/keys/:key", { config: { auth: writeAuth }, bodyLimit: 256 * 1024 }, async (req) => {
          const key = decode(parseInput(keyParam, req.params, "path").key, "key", MAX_KEY_BYTES);
          const { value: text } = parseInput(putBody, req.body, "body");
          const value = text === null ? null : decode(text, "value", MAX_VALUE_BYTES);
          // One change at a time, in the order they are recorded; each is applied to a copy made visible once durable.
          const run = queue.then(async () => {
            if (broken) throw new HttpError(503, "trie store unavailable", broken);
            const before = held;
            const trie = before.trie.clone();
            trie.put(key, value ?? new Uint8Array(0)); // an empty value deletes, as in Ethereum's trie
            const next = { trie, revision: before.revision + 1 };
            if (store) {
              const trieKey = trie.trieKeyOf(key);
              try {
                await store.record({ revision: next.revision, trieKey, value: value !== null && value.length > 0 ? value : null, root: trie.rootHash() }, () => trie.entries());
              } catch (e) {
                broken = `${store.description} failed to record revision ${next.revision} (${(e as Error).message}); restart the service to read back what it holds`;
                log.error({ store: store.description, revision: next.revision }, broken);
                throw new HttpError(503, "trie store unavailable", `the change was not acknowledged and is not served: ${broken}`);
              }
            }
            held = next;
            return { previousRoot: hex(before.trie.rootHash()), ...proofOf(next, key) };
          });
          queue = run.catch(() => undefined);
          return run;
        });
      },
    };
  },
});
