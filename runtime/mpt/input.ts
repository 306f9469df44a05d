/**
 * ethereum/tests TrieTests input: a case's `in` is an object key→value or a list of [key, value] pairs (list
 * order is insertion order); a string starting "0x" is hex bytes, any other is UTF-8; a null value deletes.
 * A file is either one case ({"in": …, "root"?: …}) or a test file of named cases.
 */
import { hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { z } from "zod";
import { MptError } from "./errors.js";
import { MerklePatriciaTrie, type TrieOptions } from "./trie.js";

const Value = z.string().nullable();
const Case = z.object({
  in: z.union([z.record(z.string(), Value), z.array(z.tuple([z.string(), Value]))]),
  root: z.string().optional(),
});
export type TrieTestCase = z.infer<typeof Case>;

/** `0x…` → hex bytes (MptError naming the string when it is not hex), anything else → UTF-8. */
export function decodeTestString(s: string): Uint8Array {
  if (!s.startsWith("0x")) return utf8ToBytes(s);
  const digits = s.slice(2);
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new MptError(`"${s.length > 80 ? `${s.slice(0, 77)}...` : s}" starts with 0x but is not whole bytes of hex`);
  return hexToBytes(digits);
}

/** The insert/delete operations of a case, in order. */
function caseOperations(c: TrieTestCase): [Uint8Array, Uint8Array | null][] {
  const pairs = Array.isArray(c.in) ? c.in : Object.entries(c.in);
  return pairs.map(([k, v]) => [decodeTestString(k), v === null ? null : decodeTestString(v)]);
}

/**
 * The case a parsed JSON file holds: the file itself when it has `in`, else the case named `name` (or its only
 * case). MptError names the problem and the cases there are.
 */
export function selectCase(json: unknown, name?: string): { name: string; testCase: TrieTestCase } {
  const issues = (r: { error: z.ZodError }) => r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
  if (json !== null && typeof json === "object" && !Array.isArray(json) && "in" in json) {
    if (name !== undefined) throw new MptError(`--case ${name}: the file is a single case (it has "in"), not a file of named cases`);
    const r = Case.safeParse(json);
    if (!r.success) throw new MptError(`not a TrieTests case: ${issues(r)}`);
    return { name: "(file)", testCase: r.data };
  }
  const file = z.record(z.string(), z.unknown()).safeParse(json);
  if (!file.success) throw new MptError('expected a TrieTests case ({"in": …}) or a file of named cases');
  const names = Object.keys(file.data);
  const pick = name ?? (names.length === 1 ? names[0]! : undefined);
  if (pick === undefined) throw new MptError(`the file holds ${names.length} cases; choose one with --case (${names.join(", ") || "none"})`);
  if (!(pick in file.data)) throw new MptError(`--case ${pick}: no such case; the file holds ${names.join(", ")}`);
  const r = Case.safeParse(file.data[pick]);
  if (!r.success) throw new MptError(`case ${pick} is not a TrieTests case: ${issues(r)}`);
  return { name: pick, testCase: r.data };
}

/** The trie a case builds. */
export function trieOfCase(c: TrieTestCase, options: TrieOptions = {}): MerklePatriciaTrie {
  const trie = new MerklePatriciaTrie(options);
  for (const [k, v] of caseOperations(c)) {
    if (v === null) trie.delete(k);
    else trie.put(k, v);
  }
  return trie;
}
