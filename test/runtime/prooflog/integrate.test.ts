// The integrator (the sequencer's pure core) against the in-memory reference tree: every root, every completed
// tile (levels 0 and 1), every bundle, and the edge it saves — also after restoring from that edge mid-tile.
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Integrator, type FullTile } from "../../../runtime/prooflog/integrate.js";
import { hashingReady, leafHash } from "../../../runtime/prooflog/rfc6962.js";
import { MerkleTree } from "../../../runtime/prooflog/tree.js";
import { decodeEntryBundle } from "../../../runtime/prooflog/tiles.js";

const entry = (i: number) => Buffer.from(`integrate-${i}`);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// 2^16 + 300 leaves: the first level-1 tile completes (its node at tree level 16 comes out of a 16-deep carry).
const N = 65_536 + 300;
const ref = new MerkleTree();
for (let i = 0; i < N; i++) ref.appendEntry(entry(i));

/** Append [from, to) and check every tile and bundle completed on the way against the reference. */
function run(integ: Integrator, from: number, to: number, tiles: FullTile[]): void {
  for (let i = from; i < to; i++) integ.append(entry(i), leafHash(entry(i)));
  const done = integ.takeCompleted();
  tiles.push(...done.tiles);
  for (const b of done.bundles) expect(decodeEntryBundle(b.data).map((e) => e.toString())).toEqual(Array.from({ length: 256 }, (_, k) => entry(b.index * 256 + k).toString()));
}

describe("Integrator", () => {
  beforeAll(() => hashingReady);

  it("emits exactly the reference tree's full tiles at levels 0 and 1 and its root at every batch boundary", () => {
    const integ = Integrator.empty();
    const tiles: FullTile[] = [];
    let at = 0;
    for (const step of [1, 2, 3, 250, 1024, 7, 64_249, 300]) {
      run(integ, at, at + step, tiles);
      at += step;
      expect(integ.size).toBe(at);
      expect(hex(integ.root()), `root at ${at}`).toBe(hex(ref.rootAt(at)));
    }
    expect(at).toBe(N);
    expect(tiles.filter((t) => t.level === 0)).toHaveLength(Math.floor(N / 256));
    expect(tiles.filter((t) => t.level === 1)).toHaveLength(1);
    for (const t of tiles) expect(hex(t.data), `tile ${t.level}/${t.index}`).toBe(hex(ref.nodes(8 * t.level, t.index * 256, (t.index + 1) * 256)));
  });

  it("an integrator restored from its edge at any size continues exactly as the reference", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 600 }), (cut, more) => {
        const a = Integrator.empty();
        run(a, 0, cut, []);
        const b = Integrator.fromEdge(a.edge());
        expect(hex(b.root())).toBe(hex(ref.rootAt(cut)));
        const tiles: FullTile[] = [];
        run(b, cut, cut + more, tiles);
        expect(hex(b.root())).toBe(hex(ref.rootAt(cut + more)));
        for (const t of tiles) expect(hex(t.data)).toBe(hex(ref.nodes(0, t.index * 256, (t.index + 1) * 256)));
        expect(hex(b.partialTile(0))).toBe(hex(ref.nodes(0, Math.floor((cut + more) / 256) * 256, cut + more)));
      }),
      { numRuns: 60 },
    );
  });
});
