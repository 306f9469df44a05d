/**
 * Counter identities and their Redis keys. A counter is named by its own descriptor path only — the
 * domain and the entries that matched, `%`-escaped so no two paths collide — never by the request's
 * other descriptors, so `[a]`, `[a, b]` and `[a, c]` all charge the same counter for `a`. The limit's
 * algorithm and period are part of the name (an override or a reloaded config with another unit gets
 * its own counter rather than misreading another algorithm's state).
 *
 * Redis key: `<prefix>{<tag>}:<counter>`. The tag is the path's first entry (the root of a
 * hierarchical descriptor), so every level of one descriptor lands in one Redis Cluster slot and one
 * script decides them atomically. `keySlot` is Redis Cluster's CRC16 (XMODEM) mod 16384 with hash tags.
 */
import type { Limit } from "../core/limit.js";

const ESCAPE = /[%|={}]/g;
const escape = (s: string) => s.replace(ESCAPE, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

export interface PathEntry {
  key: string;
  value: string;
}

/** `d=<domain>|k1=v1|k2=v2…` for the first `depth` entries. */
export function counterPath(domain: string, entries: readonly PathEntry[], depth = entries.length): string {
  let p = `d=${escape(domain)}`;
  for (let i = 0; i < depth; i++) p += `|${escape(entries[i]!.key)}=${escape(entries[i]!.value)}`;
  return p;
}

/** The hash tag of a path: its domain and first entry. */
export function counterTag(domain: string, entries: readonly PathEntry[]): string {
  return counterPath(domain, entries, Math.min(1, entries.length));
}

const ALG = { gcra: "g", "token-bucket": "tb", "fixed-window": "fw", "sliding-log": "sl", "sliding-window": "sw" } as const;

/** A counter's identity: its path plus the limit's algorithm and period. */
export function counterKey(path: string, limit: Limit): string {
  return `${path}#${ALG[limit.algorithm]}${limit.periodMs}`;
}

export function redisKey(prefix: string, tag: string, key: string): string {
  return `${prefix}{${tag}}:${key}`;
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

function crc16(data: Buffer): number {
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
