/**
 * The stored tree state: the log's size, its root, and the right edge (integrate.ts), serialised with a trailing
 * SHA-256 so that a flipped byte is detected instead of silently restoring a different tree. It is the commit
 * point of every store: a batch counts as integrated once the state naming it is durable.
 */
import { createHash } from "node:crypto";
import type { Edge } from "../integrate.js";
import { type Hash, HASH_SIZE } from "../rfc6962.js";

export interface TreeState {
  size: number;
  root: Hash;
  edge: Edge;
}

const MAGIC = Buffer.from("MLSTATE1");

export class StateError extends Error {
  override name = "StateError";
}

export function encodeState(s: TreeState): Buffer {
  const parts: Buffer[] = [MAGIC];
  const head = Buffer.alloc(8 + HASH_SIZE + 1);
  head.writeBigUInt64BE(BigInt(s.size), 0);
  head.set(s.root, 8);
  head.writeUInt8(s.edge.tiles.length, 8 + HASH_SIZE);
  parts.push(head);
  for (const t of s.edge.tiles) {
    const w = Buffer.alloc(2);
    w.writeUInt16BE(t.length / HASH_SIZE);
    parts.push(w, Buffer.from(t));
  }
  const n = Buffer.alloc(2);
  n.writeUInt16BE(s.edge.entries.length);
  parts.push(n);
  for (const e of s.edge.entries) {
    const l = Buffer.alloc(2);
    l.writeUInt16BE(e.length);
    parts.push(l, Buffer.from(e));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}

export function decodeState(buf: Uint8Array, where: string): TreeState {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < MAGIC.length + 8 + HASH_SIZE + 1 + 2 + HASH_SIZE || !b.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new StateError(`${where} is not a Meridian tree state (bad magic or too short: ${b.length} bytes)`);
  }
  const body = b.subarray(0, b.length - HASH_SIZE);
  if (
    !createHash("sha256")
      .update(body)
      .digest()
      .equals(b.subarray(b.length - HASH_SIZE))
  ) {
    throw new StateError(`${where} fails its SHA-256 check: the stored tree state is corrupt`);
  }
  let at = MAGIC.length;
  const size = Number(b.readBigUInt64BE(at));
  const root = Buffer.from(b.subarray(at + 8, at + 8 + HASH_SIZE));
  const levels = b.readUInt8(at + 8 + HASH_SIZE);
  at += 8 + HASH_SIZE + 1;
  const tiles: Uint8Array[] = [];
  for (let L = 0; L < levels; L++) {
    const w = b.readUInt16BE(at);
    tiles.push(Buffer.from(b.subarray(at + 2, at + 2 + w * HASH_SIZE)));
    at += 2 + w * HASH_SIZE;
  }
  const count = b.readUInt16BE(at);
  at += 2;
  const entries: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = b.readUInt16BE(at);
    entries.push(Buffer.from(b.subarray(at + 2, at + 2 + len)));
    at += 2 + len;
  }
  if (at !== body.length) throw new StateError(`${where} has ${body.length - at} trailing bytes`);
  return { size, root, edge: { size, tiles, entries } };
}
