/**
 * ethereum/tests TrieTests, vendored under test/testdata/ethereum-trietests: every case's root through
 * `meridian mpt root` (each file once with --all, which checks every case against its `root`; a few cases as
 * single-case files), through the library the CLI calls (one test per case, so a failure names it), and the
 * ordered-neighbour cases of trietestnextprev.json against the trie's in-order walk.
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { MerklePatriciaTrie, selectCase, trieOfCase } from "../../../runtime/mpt/index.js";
import { runCli } from "../../cli.js";

const DIR = "test/testdata/ethereum-trietests";
const FILES = [
  { file: "trietest.json", secure: false },
  { file: "trieanyorder.json", secure: false },
  { file: "trietest_secureTrie.json", secure: true },
  { file: "trieanyorder_secureTrie.json", secure: true },
  { file: "hex_encoded_securetrie_test.json", secure: true },
];
const load = (file: string) => JSON.parse(readFileSync(new URL(`../../testdata/ethereum-trietests/${file}`, import.meta.url), "utf8")) as Record<string, { root: string }>;
const secureArgs = (secure: boolean) => (secure ? ["--secure"] : []);

describe.each(FILES)("$file (library)", ({ file, secure }) => {
  const json = load(file);
  it.each(Object.keys(json))("%s", (name) => {
    const { testCase } = selectCase(json, name);
    expect(`0x${bytesToHex(trieOfCase(testCase, { secure }).rootHash())}`).toBe(testCase.root);
  });
});

describe("meridian mpt root", () => {
  it.each(FILES)("--all passes every case of $file", ({ file, secure }) => {
    const r = runCli(["mpt", "root", `${DIR}/${file}`, "--all", ...secureArgs(secure)]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const want = Object.entries(load(file)).map(([name, c]) => `${name} ${c.root}`);
    expect(r.stdout.trim().split("\n")).toEqual(want);
  });

  it("prints one case's root, from a single-case file or a whole file with --case", () => {
    const dir = mkdtempSync(join(tmpdir(), "mpt-root-"));
    for (const { file, secure, name } of [
      { file: "trietest.json", secure: false, name: "emptyValues" },
      { file: "trieanyorder_secureTrie.json", secure: true, name: "dogs" },
      { file: "hex_encoded_securetrie_test.json", secure: true, name: "test2" },
    ]) {
      const c = load(file)[name]!;
      const single = join(dir, `${name}.json`);
      writeFileSync(single, JSON.stringify(c));
      expect(runCli(["mpt", "root", single, ...secureArgs(secure)])).toMatchObject({ status: 0, stdout: `${c.root}\n` });
      expect(runCli(["mpt", "root", `${DIR}/${file}`, "--case", name, ...secureArgs(secure)])).toMatchObject({ status: 0, stdout: `${c.root}\n` });
    }
  });

  it("--all exits 1 naming a case whose root differs", () => {
    const dir = mkdtempSync(join(tmpdir(), "mpt-root-"));
    const f = join(dir, "wrong.json");
    writeFileSync(f, JSON.stringify({ good: load("trieanyorder.json").dogs, bad: { in: { a: "b" }, root: `0x${"00".repeat(32)}` } }));
    const r = runCli(["mpt", "root", f, "--all"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/case bad: root 0x[0-9a-f]{64}, the case expects 0x0{64}/);
  });
});

describe("trietestnextprev.json: neighbours in the trie's key order", () => {
  const cases = JSON.parse(readFileSync(new URL("../../testdata/ethereum-trietests/trietestnextprev.json", import.meta.url), "utf8")) as Record<
    string,
    { in: string[]; tests: [string, string, string][] }
  >;
  it.each(Object.entries(cases))("%s", (_name, c) => {
    const trie = new MerklePatriciaTrie();
    for (const k of c.in) trie.put(utf8ToBytes(k), utf8ToBytes(k));
    const keys = [...trie.entries()].map((e) => Buffer.from(e.key).toString("utf8"));
    for (const [key, prev, next] of c.tests) {
      const probe = Buffer.from(key);
      const before = keys.filter((k) => Buffer.compare(Buffer.from(k), probe) < 0);
      const after = keys.filter((k) => Buffer.compare(Buffer.from(k), probe) > 0);
      expect([before.at(-1) ?? "", after[0] ?? ""], `neighbours of "${key}"`).toEqual([prev, next]);
    }
  });
});
