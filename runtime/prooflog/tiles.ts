/**
 * C2SP tlog-tiles paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, where N is written in
 * zero-padded 3-digit groups, all but the last prefixed with `x` (1234067 → x001/x234/067). A full tile holds
 * 256 hashes of tree level 8·L; a partial tile holds the first W (1..255) of them. Entry bundles frame each
 * entry with a big-endian uint16 length.
 */
export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;

export interface TileRef {
  /** Tile level L, or "entries" for an entry bundle. */
  level: number | "entries";
  index: number;
  /** Width: 256 for a full tile, 1..255 for a partial one. */
  width: number;
}

export function encodeTileIndex(n: number): string {
  const groups: string[] = [];
  do {
    groups.unshift(String(n % 1000).padStart(3, "0"));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

export function tilePath(t: TileRef): string {
  const suffix = t.width === TILE_WIDTH ? "" : `.p/${t.width}`;
  return `tile/${t.level}/${encodeTileIndex(t.index)}${suffix}`;
}

export class TilePathError extends Error {
  override name = "TilePathError";
}

const TILE_RE = /^(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([0-9]+))?$/;

/** Parse the part of a URL after `tile/`; throws TilePathError naming what is wrong. */
export function parseTilePath(rest: string): TileRef {
  const m = TILE_RE.exec(rest);
  if (!m) throw new TilePathError(`"tile/${rest}" is not tile/<L>/<N>[.p/<W>] with N in x-prefixed 3-digit groups`);
  const [, l, xs, lastGroup, w] = m as unknown as [string, string, string, string, string | undefined];
  const level = l === "entries" ? "entries" : Number(l);
  if (level !== "entries" && level > 63) throw new TilePathError(`tile level ${level} must be 0..63`);
  const groups = [
    ...xs
      .split("/")
      .filter(Boolean)
      .map((g) => g.slice(1)),
    lastGroup,
  ];
  if (groups.length > 1 && groups[0] === "000") throw new TilePathError("tile index has a leading zero group");
  const index = groups.reduce((acc, g) => acc * 1000 + Number(g), 0);
  if (!Number.isSafeInteger(index)) throw new TilePathError("tile index too large");
  let width = TILE_WIDTH;
  if (w !== undefined) {
    if (!/^[1-9][0-9]*$/.test(w) || Number(w) >= TILE_WIDTH) throw new TilePathError(`partial tile width "${w}" must be 1..255`);
    width = Number(w);
  }
  return { level, index, width };
}

/** Encode entries as an entry bundle. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const e of entries) size += 2 + e.length;
  const out = Buffer.allocUnsafe(size);
  encodeEntryBundleInto(entries, out);
  return out;
}

/** Encode into `out`, which holds exactly the bundle's bytes (2 + length per entry). */
export function encodeEntryBundleInto(entries: readonly Uint8Array[], out: Uint8Array): void {
  let at = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw new RangeError(`entry of ${e.length} bytes does not fit an entry bundle (at most 65,535)`);
    out[at] = e.length >>> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
}

export function decodeEntryBundle(bundle: Uint8Array): Buffer[] {
  const b = Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 2 > b.length) throw new TilePathError("entry bundle ends inside a length prefix");
    const len = b.readUInt16BE(at);
    if (at + 2 + len > b.length) throw new TilePathError("entry bundle ends inside an entry");
    out.push(b.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}
