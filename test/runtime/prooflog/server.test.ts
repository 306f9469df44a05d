import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { TransparencyLog } from "../../../runtime/prooflog/log.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { MemoryStore } from "../../../runtime/prooflog/storage/store.js";
import { generateKey, newVerifier } from "../../../runtime/prooflog/note.js";
import { openCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import { decodeEntryBundle, encodeTileIndex, parseTilePath, tilePath, TilePathError } from "../../../runtime/prooflog/tiles.js";
import { leafHash, nodeHash } from "../../../runtime/prooflog/rfc6962.js";
import { verifyConsistency, verifyInclusion } from "../../../runtime/prooflog/proof/verify.js";
import { rangeHash } from "../../../runtime/prooflog/proof/generate.js";

const ORIGIN = "meridian.test/server";
const keys = generateKey(ORIGIN);
let app: FastifyInstance;
let log: TransparencyLog;
const N = 70_000;

beforeAll(async () => {
  // The service as `meridian log serve` runs it (the kit's app), on a memory store.
  ({ app, log } = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, store: new MemoryStore(), maxEntrySize: 1000, port: 0, checkpointIntervalMs: 60_000 }));
  await Promise.all(Array.from({ length: N }, (_, i) => log.add(Buffer.from(`e${i}`))));
  await log.publishCheckpoint();
});
afterAll(() => app.close());

describe("tile paths", () => {
  it("encodes and parses the C2SP examples, rejecting malformed ones", () => {
    expect(encodeTileIndex(1234067)).toBe("x001/x234/067");
    expect(encodeTileIndex(5)).toBe("005");
    expect(tilePath({ level: 1, index: 1234067, width: 17 })).toBe("tile/1/x001/x234/067.p/17");
    expect(parseTilePath("1/x001/x234/067.p/17")).toEqual({ level: 1, index: 1234067, width: 17 });
    expect(parseTilePath("entries/000")).toEqual({ level: "entries", index: 0, width: 256 });
    for (const bad of ["1/67", "1/x001/x234/67", "64/000", "01/000", "1/000.p/0", "1/000.p/256", "1/000.p/", "1/x000/001", "x/000"]) {
      expect(() => parseTilePath(bad), bad).toThrow(TilePathError);
    }
  });
});

describe("log HTTP API", () => {
  it("serves a signed checkpoint whose root the tiles reproduce (tree of 70,000: the spec's example)", async () => {
    const res = await app.inject({ url: "/checkpoint" });
    expect(res.headers["content-type"]).toMatch(/^text\/plain; charset=utf-8/);
    const { checkpoint } = openCheckpoint(res.body, [newVerifier(keys.verifierKey)], ORIGIN);
    expect(checkpoint.size).toBe(N);
    // 273 full level-0 tiles + one of width 112; level 1: one full + width 17; level 2: width 1.
    const t = async (p: string) => app.inject({ url: `/${p}` });
    expect((await t("tile/0/272")).rawPayload.length).toBe(8192);
    expect((await t("tile/0/273")).statusCode).toBe(404);
    expect((await t("tile/0/273.p/112")).rawPayload.length).toBe(112 * 32);
    expect((await t("tile/0/273.p/113")).statusCode).toBe(404);
    expect((await t("tile/1/000")).headers["cache-control"]).toMatch(/immutable/);
    const l1 = (await t("tile/1/001.p/17")).rawPayload;
    const l2 = (await t("tile/2/000.p/1")).rawPayload;
    expect(l2.length).toBe(32);
    // Rebuild the root from tiles only: level-2 hash covers [0, 65536), level-1 tile covers the next 17·256.
    const hashesAt = (buf: Buffer) => Array.from({ length: buf.length / 32 }, (_, i) => buf.subarray(i * 32, i * 32 + 32));
    const l0 = (await t("tile/0/273.p/112")).rawPayload;
    // Tile clients rebuild the levels between tile levels by hashing pairs.
    const read = (level: number, index: number): Uint8Array => {
      if (level % 8 !== 0) return nodeHash(read(level - 1, 2 * index), read(level - 1, 2 * index + 1));
      if (level === 16 && index === 0) return hashesAt(l2)[0]!;
      if (level === 8 && index >= 256) return hashesAt(l1)[index - 256]!;
      if (level === 0 && index >= 273 * 256) return hashesAt(l0)[index - 273 * 256]!;
      throw new Error(`root of 70,000 should need no node (${level}, ${index}) beyond the three tiles`);
    };
    expect(Buffer.from(rangeHash(0, N, read))).toEqual(Buffer.from(checkpoint.root));
    const level9 = await log.tiles.run(N, (read) => read(9, 128));
    expect(Buffer.from(nodeHash(hashesAt(l1)[0]!, hashesAt(l1)[1]!))).toEqual(Buffer.from(level9));
  });

  it("serves entry bundles whose entries hash to the level-0 tile", async () => {
    const bundle = decodeEntryBundle((await app.inject({ url: "/tile/entries/273.p/112" })).rawPayload);
    const tile = (await app.inject({ url: "/tile/0/273.p/112" })).rawPayload;
    expect(bundle).toHaveLength(112);
    bundle.forEach((e, i) => expect(Buffer.from(leafHash(e))).toEqual(tile.subarray(i * 32, i * 32 + 32)));
    expect(bundle[0]!.toString()).toBe(`e${273 * 256}`);
  });

  it("answers JSON inclusion and consistency proofs that verify", async () => {
    const cp = log.checkpoint().checkpoint;
    const inc = (await app.inject({ url: `/proof/inclusion?index=12345&size=${N}` })).json<{ proof: string[]; leafHash: string }>();
    verifyInclusion(
      12345,
      N,
      leafHash(Buffer.from("e12345")),
      inc.proof.map((h) => Buffer.from(h, "base64")),
      cp.root,
    );
    const con = (await app.inject({ url: `/proof/consistency?old=777&new=${N}` })).json<{ proof: string[] }>();
    verifyConsistency(
      777,
      N,
      con.proof.map((h) => Buffer.from(h, "base64")),
      await log.rootAt(777),
      cp.root,
    );
  });

  it("appends, detects duplicates, and rejects bad requests with {error, detail}", async () => {
    const add = (body: string | Buffer) => app.inject({ method: "POST", url: "/add", body, headers: { "content-type": "application/octet-stream" } });
    const r = await add("fresh entry");
    expect(r.json()).toEqual({ index: N });
    expect((await add("fresh entry")).json()).toEqual({ index: N, duplicate: true });
    expect((await add("e5")).json()).toEqual({ index: 5, duplicate: true });
    const big = await add(Buffer.alloc(1001, 1));
    expect(big.statusCode).toBe(413);
    expect(big.json()).toHaveProperty("error");
    expect((await add("")).statusCode).toBe(400);
    for (const url of [
      "/proof/inclusion?index=5",
      "/proof/inclusion?index=5&size=1",
      "/proof/inclusion?index=-1&size=5",
      `/proof/inclusion?index=0&size=${N + 10}`,
      "/proof/consistency?old=0&new=5",
      "/proof/consistency?old=9&new=5",
      "/tile/0/abc",
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(400);
      expect(Object.keys(res.json()).sort(), url).toEqual(["detail", "error"]);
    }
    expect(log.size).toBe(N + 1); // nothing half-written by the rejected requests
  });
});

describe("proofs from tiles", () => {
  it("builds inclusion and consistency proofs from tlog-tiles reads alone, and they verify", async () => {
    const { TileProofs } = await import("../../../runtime/prooflog/tileclient.js");
    const fetched: string[] = [];
    const fetchTile = async (path: string) => {
      fetched.push(path);
      const res = await app.inject({ url: `/${path}` });
      if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode}`);
      return new Uint8Array(res.rawPayload);
    };
    const size = log.size;
    const root = await log.rootAt(size);
    const leafAt = (i: number) => leafHash(Buffer.from(i < N ? `e${i}` : "fresh entry"));
    const tiles = new TileProofs(fetchTile, size);
    for (const index of [0, 255, 256, 65_535, 65_536, 69_999, size - 1]) {
      verifyInclusion(index, size, leafAt(index), await tiles.inclusionProof(index), root);
    }
    for (const old of [1, 256, 4097, 65_536, 69_000]) verifyConsistency(old, size, await tiles.consistencyProof(old), await log.rootAt(old), root);
    expect(new Set(fetched).size).toBe(fetched.length); // each tile fetched once
    const lying = new TileProofs(async (p) => {
      const b = await fetchTile(p);
      return b.map((x, i) => (i === 0 ? x ^ 1 : x));
    }, size);
    await expect(lying.inclusionProof(12_345).then((p) => verifyInclusion(12_345, size, leafAt(12_345), p, root))).rejects.toThrow();
  });
});

// C2SP tlog-tiles pruning (`log serve --min-index`): full tiles and entry bundles that end at or below the minimum
// index are refused (404) so clients stop relying on them; those ending above it, partial tiles and the checkpoint
// are served as before.
describe("pruning (--min-index)", () => {
  it("refuses full tiles and bundles ending at or below the minimum index, and serves the rest", async () => {
    const pruned = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, store: new MemoryStore(), port: 0, checkpointIntervalMs: 60_000, minIndex: 1024 });
    try {
      await Promise.all(Array.from({ length: 2000 }, (_, i) => pruned.log.add(Buffer.from(`p${i}`))));
      await pruned.log.publishCheckpoint();
      const get = async (path: string) => {
        const r = await pruned.app.inject({ url: `/${path}` });
        return [r.statusCode, r.statusCode === 404 ? (r.json() as { title?: string; error?: string }) : null] as const;
      };
      for (const path of ["tile/0/000", "tile/0/003", "tile/entries/000", "tile/entries/003"]) {
        const [status, body] = await get(path);
        expect(status, path).toBe(404);
        expect(JSON.stringify(body), path).toMatch(/pruned/);
      }
      for (const path of ["tile/0/004", "tile/0/006", "tile/entries/004", "tile/0/007.p/208", "tile/1/000.p/7", "checkpoint"]) expect((await get(path))[0], path).toBe(200);
      const bundle = await pruned.app.inject({ url: "/tile/entries/004" });
      expect(Buffer.from(decodeEntryBundle(new Uint8Array(bundle.rawPayload))[0]!).toString()).toBe("p1024");
    } finally {
      await pruned.app.close();
    }
  });
});
