/**
 * Proofs from tiles: builds inclusion and consistency proofs for a tree size purely from C2SP tlog-tiles reads
 * (`tile/<L>/<N>[.p/<W>]`), so `meridian log verify --tiles` can audit any tlog-tiles log, not only ours, and
 * trusts nothing the server computed. The needed nodes are found by running the proof generator against a
 * recording reader, then fetched tile by tile (each tile once); nodes between tile levels are rebuilt by
 * hashing inside the tile.
 */
import { consistencyProof, inclusionProof, type NodeReader } from "./proof/generate.js";
import { type Hash, HASH_SIZE, nodeHash } from "./rfc6962.js";
import { TILE_HEIGHT, TILE_WIDTH, tilePath } from "./tiles.js";

export type TileFetcher = (path: string) => Promise<Uint8Array>;

export class TileError extends Error {
  override name = "TileError";
}

export function httpTileFetcher(base: string, get: (url: string) => Promise<Response> = (url) => fetch(url)): TileFetcher {
  const root = base.replace(/\/+$/, "");
  return async (path) => {
    const res = await get(`${root}/${path}`);
    if (!res.ok) throw new TileError(`GET ${root}/${path}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
}

export class TileProofs {
  private readonly tiles = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly fetchTile: TileFetcher,
    private readonly size: number,
  ) {}

  /** Tile (level L, index n) as this tree size has it: full, or partial with the width the size implies. */
  private tile(L: number, n: number): Promise<Uint8Array> {
    const hashesAtLevel = Math.floor(this.size / TILE_WIDTH ** L);
    const width = Math.min(TILE_WIDTH, hashesAtLevel - n * TILE_WIDTH);
    if (width <= 0) throw new TileError(`tile ${L}/${n} does not exist at tree size ${this.size}`);
    const path = tilePath({ level: L, index: n, width });
    let t = this.tiles.get(path);
    if (!t) {
      // tlog-tiles lets a log delete a partial tile once the full one exists: fall back to the full tile's prefix.
      const fetched =
        width === TILE_WIDTH
          ? this.fetchTile(path)
          : this.fetchTile(path).catch(() => this.fetchTile(tilePath({ level: L, index: n, width: TILE_WIDTH })).then((full) => full.subarray(0, width * HASH_SIZE)));
      t = fetched.then((b) => {
        if (b.length !== width * HASH_SIZE) throw new TileError(`${path} is ${b.length} bytes; expected ${width * HASH_SIZE}`);
        return b;
      });
      this.tiles.set(path, t);
    }
    return t;
  }

  /** Fetch every tile the nodes need, then return a synchronous reader over them. */
  private async readerFor(nodes: [number, number][]): Promise<NodeReader> {
    const loaded = new Map<string, Uint8Array>();
    await Promise.all(
      nodes.map(async ([level, index]) => {
        const L = Math.floor(level / TILE_HEIGHT);
        const n = Math.floor((index * 2 ** (level % TILE_HEIGHT)) / TILE_WIDTH);
        loaded.set(`${L}/${n}`, await this.tile(L, n));
      }),
    );
    const read: NodeReader = (level, index) => {
      const L = Math.floor(level / TILE_HEIGHT);
      const sub = level % TILE_HEIGHT;
      const first = index * 2 ** sub; // first hash of this node at tree level 8L
      const tile = loaded.get(`${L}/${Math.floor(first / TILE_WIDTH)}`);
      if (!tile) throw new Error(`node (${level}, ${index}) was not prefetched`);
      const at = first % TILE_WIDTH;
      const hashAt = (i: number) => tile.subarray((at + i) * HASH_SIZE, (at + i + 1) * HASH_SIZE);
      // Rebuild the perfect subtree of 2^sub tile hashes.
      let row: Hash[] = Array.from({ length: 2 ** sub }, (_, i) => hashAt(i));
      while (row.length > 1) row = Array.from({ length: row.length / 2 }, (_, i) => nodeHash(row[2 * i]!, row[2 * i + 1]!));
      return row[0]!;
    };
    return read;
  }

  private async run<T>(gen: (read: NodeReader) => T): Promise<T> {
    const wanted: [number, number][] = [];
    gen((level, index) => {
      wanted.push([level, index]);
      return new Uint8Array(HASH_SIZE);
    });
    return gen(await this.readerFor(wanted));
  }

  inclusionProof(index: number): Promise<Hash[]> {
    return this.run((read) => inclusionProof(index, this.size, read));
  }

  /** Consistency proof from `oldSize` to this tree's size. */
  consistencyProof(oldSize: number): Promise<Hash[]> {
    return this.run((read) => consistencyProof(oldSize, this.size, read));
  }
}
