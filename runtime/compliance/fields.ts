/**
 * Merkle-salted field commitments of an audit record (selective disclosure without a signature scheme per field).
 * Each field becomes one entry
 *   "meridian/compliance/field/v1" ‖ 0x00 ‖ salt (32 bytes) ‖ u16be(len name) ‖ name ‖ u32be(len value) ‖ value
 * where value is the field's JSON text, and the record's commitment is the RFC 6962 tree root over those entries
 * (leaf hash SHA-256(0x00 ‖ entry), fields in UTF-8 byte order of their names). A field is disclosed with its
 * salt and its RFC 6962 inclusion proof in the record tree; the 32 random bytes of salt keep every undisclosed
 * field's leaf hash from being guessed from a short value list. The domain prefix keeps a field entry from ever
 * hashing like a log entry or a record statement.
 */
import { randomBytes } from "node:crypto";
import { type Hash, leafHash, MerkleTree } from "../prooflog/index.js";
import { ComplianceError } from "./errors.js";

export const FIELD_DOMAIN = "meridian/compliance/field/v1";
export const SALT_SIZE = 32;

/** A field value: a JSON scalar, so its JSON text is canonical. */
export type FieldValue = string | number | boolean | null;

export interface SaltedField {
  name: string;
  value: FieldValue;
  salt: Uint8Array;
}

function valueText(name: string, value: FieldValue): string {
  if (typeof value === "number" && !Number.isFinite(value)) throw new ComplianceError(`field "${name}": ${value} is not a JSON number`);
  if (value !== null && !["string", "number", "boolean"].includes(typeof value)) throw new ComplianceError(`field "${name}": expected a string, number, boolean or null, got ${typeof value}`);
  return JSON.stringify(value);
}

/** The entry whose RFC 6962 leaf hash is the field's leaf in the record tree. */
export function fieldEntry(f: SaltedField): Buffer {
  if (f.salt.length !== SALT_SIZE) throw new ComplianceError(`field "${f.name}": salt is ${f.salt.length} bytes, expected ${SALT_SIZE}`);
  const name = Buffer.from(f.name, "utf8");
  const value = Buffer.from(valueText(f.name, f.value), "utf8");
  if (name.length === 0 || name.length > 0xffff) throw new ComplianceError(`field name "${f.name}" must be 1..65535 bytes`);
  const n = Buffer.alloc(2);
  n.writeUInt16BE(name.length);
  const v = Buffer.alloc(4);
  v.writeUInt32BE(value.length);
  return Buffer.concat([Buffer.from(FIELD_DOMAIN, "utf8"), Buffer.from([0]), f.salt, n, name, v, value]);
}

export const fieldLeaf = (f: SaltedField): Hash => leafHash(fieldEntry(f));

const byName = (a: { name: string }, b: { name: string }) => Buffer.compare(Buffer.from(a.name, "utf8"), Buffer.from(b.name, "utf8"));

/** Salt every field with fresh random bytes (or the given salt source, for known-answer tests). */
export function saltFields(fields: Record<string, FieldValue>, salt: (name: string) => Uint8Array = () => randomBytes(SALT_SIZE)): SaltedField[] {
  const out = Object.entries(fields).map(([name, value]) => ({ name, value, salt: salt(name) }));
  if (out.length === 0) throw new ComplianceError("a record needs at least one field");
  return out.sort(byName);
}

export interface RecordTree {
  /** The fields in tree order (UTF-8 byte order of their names). */
  fields: SaltedField[];
  root: Hash;
  /** The index of a field in the tree and its RFC 6962 inclusion proof there. */
  prove(name: string): { index: number; proof: Hash[] };
}

export function recordTree(salted: readonly SaltedField[]): RecordTree {
  const fields = [...salted].sort(byName);
  fields.forEach((f, i) => {
    if (i > 0 && fields[i - 1]!.name === f.name) throw new ComplianceError(`field "${f.name}" appears twice`);
  });
  const tree = new MerkleTree();
  for (const f of fields) tree.appendEntry(fieldEntry(f));
  return {
    fields,
    root: tree.root(),
    prove(name) {
      const index = fields.findIndex((f) => f.name === name);
      if (index < 0) throw new ComplianceError(`the record has no field "${name}"`);
      return { index, proof: tree.inclusionProof(index) };
    },
  };
}
