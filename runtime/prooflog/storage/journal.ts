/**
 * The file store's journal: each commit appends one record with one O_DSYNC write before the batch is
 * acknowledged, so acknowledging costs one sequential write and one sync, whatever the batch touches in the tile
 * tree. The journal has two files (lanes) written alternately (storage/file.ts): a file's records go up in index
 * order with the other lane's records in between; each record carries its first index, so replay merges them.
 *
 *   record = u32 magic "MLJ1" ‖ u64 first index ‖ u32 count ‖ u32 payload length ‖ u32 CRC-32 (of the first 20 bytes, then the payload) ‖ payload
 *   payload = the entries, uint16 length-prefixed (the entry bundle encoding)
 *
 * Reading tells a torn tail (a record cut short by the end of the file: its sync never completed, so it was
 * never acknowledged) from corruption (a complete record whose CRC fails, or indices going backwards): the first
 * may be set aside, the second must stop the log, because the record may hold acknowledged entries.
 */
import { crc32 } from "node:zlib";
import { decodeEntryBundle, encodeEntryBundleInto } from "../tiles.js";

const MAGIC = 0x4d4c4a31;
const RECORD_HEADER = 24;

export class CorruptStoreError extends Error {
  override name = "CorruptStoreError";
}

export function encodeRecord(firstIndex: number, entries: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const e of entries) size += 2 + e.length;
  // The payload is encoded in place behind the header: one buffer per commit, no copy.
  const rec = Buffer.allocUnsafe(RECORD_HEADER + size);
  const payload = rec.subarray(RECORD_HEADER);
  encodeEntryBundleInto(entries, payload);
  rec.writeUInt32BE(MAGIC, 0);
  rec.writeBigUInt64BE(BigInt(firstIndex), 4);
  rec.writeUInt32BE(entries.length, 12);
  rec.writeUInt32BE(size, 16);
  rec.writeUInt32BE(crc32(payload, crc32(rec.subarray(0, 20))), 20);
  return rec;
}

export interface JournalScan {
  /** Entries with their indices, in order. */
  records: { firstIndex: number; entries: Buffer[]; offset: number }[];
  /** Byte offset where valid records end. */
  validBytes: number;
  /** Bytes after validBytes that form an incomplete (torn) record, if any. */
  tornBytes: number;
}

/** Parse a journal file's bytes; throws CorruptStoreError on a complete record that fails its checks. */
export function scanJournal(buf: Buffer, name: string): JournalScan {
  const records: JournalScan["records"] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + RECORD_HEADER > buf.length) break; // torn header
    const magic = buf.readUInt32BE(at);
    const len = buf.readUInt32BE(at + 16);
    if (at + RECORD_HEADER + len > buf.length) {
      // Cut short by the end of the file: a torn write — unless the header itself is garbage.
      if (magic !== MAGIC) throw new CorruptStoreError(`${name}: bytes at offset ${at} are not a journal record (bad magic)`);
      break;
    }
    const first = Number(buf.readBigUInt64BE(at + 4));
    const count = buf.readUInt32BE(at + 12);
    const payload = buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len);
    const crc = crc32(payload, crc32(buf.subarray(at, at + 20)));
    if (magic !== MAGIC || crc !== buf.readUInt32BE(at + 20)) {
      throw new CorruptStoreError(`${name}: the record at byte ${at} (entries ${first}..${first + count - 1} by its header) fails its CRC`);
    }
    let entries: Buffer[];
    try {
      entries = decodeEntryBundle(payload);
    } catch (e) {
      throw new CorruptStoreError(`${name}: the record at byte ${at} has a malformed payload: ${(e as Error).message}`);
    }
    if (entries.length !== count) throw new CorruptStoreError(`${name}: the record at byte ${at} claims ${count} entries but holds ${entries.length}`);
    const prev = records[records.length - 1];
    // A file is one lane of the journal (storage/file.ts): its records go up in index order, the other lane's between them.
    if (prev && prev.firstIndex + prev.entries.length > first) {
      throw new CorruptStoreError(`${name}: the record at byte ${at} starts at entry ${first}, before the previous one ended (${prev.firstIndex + prev.entries.length})`);
    }
    records.push({ firstIndex: first, entries, offset: at });
    at += RECORD_HEADER + len;
  }
  return { records, validBytes: at, tornBytes: buf.length - at };
}
