/**
 * Redis key layout: `<prefix>{<tag>}:<level key>`. Every level of one hierarchy shares the hash tag —
 * the hierarchy's broadest level (its root) — so Redis Cluster puts the whole hierarchy in one slot and
 * one Lua script may touch all of it. `keySlot` is Redis Cluster's CRC16 (XMODEM) mod 16384, honouring
 * hash tags, so tests and operators can check where a hierarchy lands.
 */

export function hierarchyKeys(prefix: string, levelKeys: readonly string[]): string[] {
  const root = levelKeys[levelKeys.length - 1] ?? "";
  // `{` and `}` inside the tag would end it early; replace them so the tag is the whole root key.
  const tag = root.replace(/[{}]/g, "_");
  return levelKeys.map((k) => `${prefix}{${tag}}:${k}`);
}

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function crc16(data: Buffer): number {
  let crc = 0;
  for (const b of data) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

/** The Redis Cluster slot of a key (only the part inside the first non-empty `{…}` counts). */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % 16384;
}
