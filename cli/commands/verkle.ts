/**
 * `meridian verkle root|prove|verify`: the width-256 Verkle tree (KZG over BLS12-381) of a JSON file of entries —
 * an object key→value or a list of [key, value] pairs, keys 32 bytes as 0x + 64 hex digits (31-byte stem + suffix),
 * values 0x-hex bytes (whole bytes) or else UTF-8 text. `prove` writes one proof for any number of keys, present or absent;
 * `verify` checks it against a trusted root, printing each key's value (or "absent"), exit 1 naming the problem
 * when refused.
 */
import type { Command } from "commander";
import { readJsonFile } from "../../runtime/common/json-file.js";
import { UserError } from "../errors.js";

type Verkle = typeof import("../../runtime/verkle/index.js");

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const bytes = (s: string) => Uint8Array.from(Buffer.from(s.slice(2), "hex"));
const KEY = /^0x[0-9a-fA-F]{64}$/;
const value = (s: string) => (/^0x([0-9a-fA-F]{2})*$/.test(s) ? bytes(s) : new TextEncoder().encode(s));

/** The input files' schemas; zod loads when a file is read, not on every `meridian` start. */
async function schemas() {
  const { z } = await import("zod");
  const Hex = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, "expected 0x-prefixed hex bytes");
  const Key = z.string().regex(KEY, "expected a 32-byte key: 0x + 64 hex digits");
  return {
    Entries: z.union([z.record(z.string(), z.string()), z.array(z.tuple([z.string(), z.string()]))]),
    ProofJson: z.object({
      entries: z.array(z.object({ key: Key, value: Hex.nullable() })).min(1),
      proof: z.object({ depthStatus: Hex, otherStems: z.array(Hex), commitments: z.array(Hex), d: Hex, pi: Hex }),
    }),
  };
}

const usage = (message: string) => new UserError(message);

function keyArg(s: string): Uint8Array {
  if (!KEY.test(s)) throw new UserError(`KEY ${s}: expected a 32-byte key, 0x + 64 hex digits`);
  return bytes(s);
}

async function loadTree(file: string) {
  const v = await import("../../runtime/verkle/index.js");
  const json = readJsonFile(file, "Verkle entries (an object key→value or a list of [key, value] pairs)", (await schemas()).Entries, usage);
  const entries = (Array.isArray(json) ? json : Object.entries(json)).map(([k, val]): [Uint8Array, Uint8Array] => {
    if (!KEY.test(k)) throw new UserError(`${file}: key "${k.length > 80 ? `${k.slice(0, 77)}...` : k}" is not a 32-byte key (0x + 64 hex digits)`);
    return [bytes(k), value(val)];
  });
  // Built at once (sorted, each commitment computed once); a key listed twice keeps its last value.
  return { v, tree: v.VerkleTree.fromEntries(entries) };
}

function refused(e: unknown, v: Verkle): void {
  if (!(e instanceof v.VerkleProofError)) throw e;
  process.stderr.write(`meridian: proof refused: ${e.message}\n`);
  process.exitCode = 1;
}

export function register(program: Command): void {
  const verkle = program.command("verkle").description("Verkle tree (width 256, KZG commitments over BLS12-381): root, multi-key proofs and their verification");

  verkle
    .command("root")
    .description("print the root commitment (48-byte compressed G1 point) of the tree FILE's entries build")
    .argument("<file>", "JSON: an object key→value or a list of [key, value] pairs (keys 0x + 64 hex digits)")
    .action(async (file: string) => {
      const { tree } = await loadTree(file);
      process.stdout.write(`${hex(tree.root())}\n`);
    });

  verkle
    .command("prove")
    .description("print one JSON proof of what each KEY holds (its value, or absence)")
    .argument("<file>", "JSON: an object key→value or a list of [key, value] pairs (keys 0x + 64 hex digits)")
    .argument("<keys...>", "32-byte keys, 0x + 64 hex digits")
    .action(async (file: string, keyArgs: string[]) => {
      const keys = keyArgs.map(keyArg);
      const twice = keyArgs.find((k, i) => keyArgs.findIndex((x) => x.toLowerCase() === k.toLowerCase()) !== i);
      if (twice !== undefined) throw new UserError(`KEY ${twice} is given twice`);
      const { v, tree } = await loadTree(file);
      const p = tree.prove(keys);
      const out = {
        root: hex(tree.root()),
        entries: keys.map((key) => ({ key: hex(key), value: tree.get(key) === undefined ? null : hex(tree.get(key)!) })),
        proof: { depthStatus: hex(p.depthStatus), otherStems: p.otherStems.map(hex), commitments: p.commitments.map(hex), d: hex(p.d), pi: hex(p.pi) },
        bytes: v.proofSize(p),
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });

  verkle
    .command("verify")
    .description('check PROOF.json against ROOT: print "KEY VALUE" (or "KEY absent") per key, exit 1 naming the problem if refused')
    .argument("<root>", "trusted root commitment, 0x + 96 hex digits")
    .argument("<proof>", "JSON file: the output of verkle prove")
    .action(async (rootArg: string, file: string) => {
      if (!/^0x[0-9a-fA-F]{96}$/.test(rootArg)) throw new UserError(`ROOT ${rootArg}: expected a 48-byte commitment, 0x + 96 hex digits`);
      const v = await import("../../runtime/verkle/index.js");
      const json = readJsonFile(file, "a Verkle proof (the output of meridian verkle prove)", (await schemas()).ProofJson, usage);
      const entries = json.entries.map((e) => ({ key: bytes(e.key), value: e.value === null ? null : bytes(e.value) }));
      const p = json.proof;
      const proof = { depthStatus: bytes(p.depthStatus), otherStems: p.otherStems.map(bytes), commitments: p.commitments.map(bytes), d: bytes(p.d), pi: bytes(p.pi) };
      try {
        v.verifyProof(bytes(rootArg), entries, proof);
      } catch (e) {
        if (e instanceof v.VerkleError && !(e instanceof v.VerkleProofError)) throw new UserError(`${file}: ${e.message}`);
        return refused(e, v);
      }
      for (const e of json.entries) process.stdout.write(`${e.key} ${e.value ?? "absent"}\n`);
    });
}
