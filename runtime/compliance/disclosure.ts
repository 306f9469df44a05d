/**
 * Selective disclosure of a committed audit record, and the auditor's check. The holder keeps the opening (every
 * field with its salt, the signed statement, the statement's log index) and hands an auditor a disclosure: only the
 * fields the auditor's policy allows, each with its salt and inclusion proof in the record tree, plus the statement,
 * its RFC 6962 inclusion proof in the proof log and a log checkpoint. The auditor trusts nothing in it: the checkpoint
 * must be signed by the log key, the statement included under it and signed by the issuer, and every field included
 * under the statement's root. Undisclosed fields travel only as salted hashes inside the proofs.
 */
import { z } from "zod";
import { type Hash, leafHash, openCheckpoint, type Verifier, verifyInclusion } from "../prooflog/index.js";
import { ComplianceError } from "./errors.js";
import { type FieldValue, fieldLeaf, recordTree, SALT_SIZE, saltFields, type SaltedField } from "./fields.js";
import { openStatement, signStatement } from "./statement.js";

const b64 = (n: number) => z.string().refine((s) => Buffer.from(s, "base64").length === n && Buffer.from(s, "base64").toString("base64") === s, `expected ${n} bytes in base64`);
const scalar = z.union([z.string(), z.number().finite(), z.boolean(), z.null()]);
const fieldName = z.string().min(1).max(200);

export const RecordInput = z.object({ id: z.string().min(1), fields: z.record(fieldName, scalar) }).strict();
export const Policy = z.object({ allow: z.array(fieldName).min(1) }).strict();
export type Policy = z.infer<typeof Policy>;

export const Opening = z
  .object({
    format: z.literal("meridian/compliance/opening/v1"),
    id: z.string(),
    fields: z.array(z.object({ name: fieldName, value: scalar, salt: b64(SALT_SIZE) }).strict()).min(1),
    statement: z.string(),
    logIndex: z.number().int().min(0).optional(),
  })
  .strict();
export type Opening = z.infer<typeof Opening>;

const LogProof = z.object({ index: z.number().int().min(0), checkpoint: z.string(), inclusionProof: z.array(b64(32)) }).strict();
export type LogProof = z.infer<typeof LogProof>;

export const Disclosure = z
  .object({
    format: z.literal("meridian/compliance/disclosure/v1"),
    statement: z.string(),
    fields: z.array(z.object({ name: fieldName, value: scalar, salt: b64(SALT_SIZE), index: z.number().int().min(0), proof: z.array(b64(32)) }).strict()),
    log: LogProof,
  })
  .strict();
export type Disclosure = z.infer<typeof Disclosure>;

const toB64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const fromB64 = (s: string): Hash => Buffer.from(s, "base64");

/** Commit a record: salt its fields, sign the statement of its root. The statement is what goes into the log. */
export function commitRecord(record: z.infer<typeof RecordInput>, issuerKey: string, salt?: (name: string) => Uint8Array): Opening {
  const tree = recordTree(saltFields(record.fields, salt));
  const statement = signStatement({ id: record.id, fieldCount: tree.fields.length, root: tree.root }, issuerKey);
  return { format: "meridian/compliance/opening/v1", id: record.id, fields: tree.fields.map((f) => ({ name: f.name, value: f.value, salt: toB64(f.salt) })), statement };
}

const salted = (o: Opening): SaltedField[] => o.fields.map((f) => ({ name: f.name, value: f.value, salt: fromB64(f.salt) }));

/** Build a disclosure of the fields `policy` allows (those the record has), with the statement's log proof. */
export function disclose(opening: Opening, policy: Policy, log: LogProof): Disclosure {
  const tree = recordTree(salted(opening));
  const fields = tree.fields
    .filter((f) => policy.allow.includes(f.name))
    .map((f) => {
      const { index, proof } = tree.prove(f.name);
      return { name: f.name, value: f.value, salt: toB64(f.salt), index, proof: proof.map(toB64) };
    });
  if (fields.length === 0) throw new ComplianceError(`the policy allows none of the record's fields (allows: ${policy.allow.join(", ")})`);
  return { format: "meridian/compliance/disclosure/v1", statement: opening.statement, fields, log };
}

export interface VerifyOptions {
  logVerifiers: readonly Verifier[];
  issuers: readonly Verifier[];
  policy: Policy;
  /** The log's expected checkpoint origin (default: any origin the log key signs). */
  origin?: string;
}

export interface VerifiedDisclosure {
  id: string;
  fieldCount: number;
  fields: Record<string, FieldValue>;
  log: { origin: string; size: number; index: number };
}

function step<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ComplianceError) throw e;
    throw new ComplianceError(`${what}: ${(e as Error).message}`);
  }
}

/** The auditor's check; throws ComplianceError naming the first thing that does not hold. */
export function verifyDisclosure(d: Disclosure, o: VerifyOptions): VerifiedDisclosure {
  const { checkpoint } = step("log checkpoint", () => openCheckpoint(d.log.checkpoint, o.logVerifiers, o.origin));
  if (d.log.index >= checkpoint.size) throw new ComplianceError(`log index ${d.log.index} is not below the checkpoint size ${checkpoint.size}`);
  step("statement not in the log", () => verifyInclusion(d.log.index, checkpoint.size, leafHash(Buffer.from(d.statement, "utf8")), d.log.inclusionProof.map(fromB64), checkpoint.root));
  const statement = step("record statement", () => openStatement(d.statement, o.issuers));
  const fields = new Map<string, FieldValue>();
  const seen = new Set<number>();
  for (const f of d.fields) {
    if (!o.policy.allow.includes(f.name)) throw new ComplianceError(`field "${f.name}" is not one the policy allows (allows: ${o.policy.allow.join(", ")})`);
    if (fields.has(f.name) || seen.has(f.index)) throw new ComplianceError(`field "${f.name}" (index ${f.index}) is disclosed twice`);
    if (f.index >= statement.fieldCount) throw new ComplianceError(`field "${f.name}": index ${f.index} is not below the record's ${statement.fieldCount} fields`);
    const leaf = step(`field "${f.name}"`, () => fieldLeaf({ name: f.name, value: f.value, salt: fromB64(f.salt) }));
    step(`field "${f.name}" is not in the committed record`, () => verifyInclusion(f.index, statement.fieldCount, leaf, f.proof.map(fromB64), statement.root));
    fields.set(f.name, f.value);
    seen.add(f.index);
  }
  return { id: statement.id, fieldCount: statement.fieldCount, fields: Object.fromEntries(fields), log: { origin: checkpoint.origin, size: checkpoint.size, index: d.log.index } };
}
