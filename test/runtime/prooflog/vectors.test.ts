// Conformance: every probe of transparency-dev/merkle's testdata (happy paths and negative cases) through our verifiers.
import { beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "../../cli.js";
import { hashBackend, hashingReady } from "../../../runtime/prooflog/rfc6962.js";
import { verifyConsistency, verifyInclusion, verifySubtreeConsistency, verifySubtreeInclusion } from "../../../runtime/prooflog/proof/verify.js";

const DATA = resolve(REPO_ROOT, "test/testdata/rfc6962-merkle/testdata");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".json") ? [p] : [];
  });
}

type Probe = Record<string, bigint | string | string[] | null | boolean>;
// Sizes in the probes reach 2^64 - 1: keep every integer exact by reading its source text.
function load(path: string): Probe {
  return JSON.parse(readFileSync(path, "utf8"), (_k, v: unknown, ctx?: { source?: string }) => (typeof v === "number" && ctx?.source !== undefined ? BigInt(ctx.source) : v)) as Probe;
}
const b64 = (s: unknown) => Buffer.from(String(s), "base64");
const proofOf = (p: Probe) => ((p["proof"] as string[] | null) ?? []).map(b64);
const n = (v: unknown) => v as bigint;

const kinds: Record<string, (p: Probe) => void> = {
  inclusion: (p) => verifyInclusion(n(p["leafIdx"]), n(p["treeSize"]), b64(p["leafHash"]), proofOf(p), b64(p["root"])),
  consistency: (p) => verifyConsistency(n(p["size1"]), n(p["size2"]), proofOf(p), b64(p["root1"]), b64(p["root2"])),
  subtreeinclusion: (p) => verifySubtreeInclusion(n(p["leafIdx"]), n(p["start"]), n(p["end"]), b64(p["leafHash"]), proofOf(p), b64(p["root"])),
  subtreeconsistency: (p) => verifySubtreeConsistency(n(p["start"]), n(p["end"]), n(p["size"]), proofOf(p), b64(p["root1"]), b64(p["root2"])),
};

describe("rfc6962-merkle conformance vectors", () => {
  // The vectors are checked on the WebAssembly SHA-256 the log hashes with (rfc6962.ts).
  beforeAll(() => hashingReady);
  it("hashes in WebAssembly", () => expect(hashBackend()).toBe("wasm"));
  for (const [kind, verify] of Object.entries(kinds)) {
    const probes = files(join(DATA, kind));
    it(`${kind}: ${probes.length} probes`, () => {
      expect(probes.length).toBeGreaterThan(10);
      const failures: string[] = [];
      for (const path of probes) {
        const p = load(path);
        let err: unknown = null;
        try {
          verify(p);
        } catch (e) {
          err = e;
        }
        if (p["wantErr"] === true && err === null) failures.push(`${path}: accepted a bad proof (${String(p["desc"])})`);
        if (p["wantErr"] === false && err !== null) failures.push(`${path}: rejected a good proof: ${String(err)}`);
      }
      expect(failures).toEqual([]);
    });
  }
});
