/**
 * The record statement: what the issuer signs and the proof log records. A signed note whose text is
 *   meridian/compliance/record/v1\n<record id>\n<field count>\n<base64 record root>\n
 * Signing binds the commitment to an accountable issuer; logging makes it public and unrewritable. The statement
 * names neither field names nor values: it reveals only how many fields the record has.
 */
import { type Hash, newSigner, openNote, signNote, type Verifier } from "../prooflog/index.js";
import { ComplianceError } from "./errors.js";

const STATEMENT_HEADER = "meridian/compliance/record/v1";

export interface RecordStatement {
  id: string;
  fieldCount: number;
  root: Hash;
}

function checkId(id: string): void {
  if (!/^[\x21-\x7e]{1,200}$/.test(id)) throw new ComplianceError(`record id "${id}" must be 1..200 printable ASCII characters without spaces`);
}

export function statementText(s: RecordStatement): string {
  checkId(s.id);
  return `${STATEMENT_HEADER}\n${s.id}\n${s.fieldCount}\n${Buffer.from(s.root).toString("base64")}\n`;
}

export function signStatement(s: RecordStatement, issuerKey: string): string {
  return signNote(statementText(s), [newSigner(issuerKey)]);
}

/** Open a statement signed by one of `issuers`; throws NoteError on a bad signature, ComplianceError on a bad shape. */
export function openStatement(note: string, issuers: readonly Verifier[]): RecordStatement {
  const { text } = openNote(note, issuers);
  const lines = text.split("\n");
  if (lines.length !== 5 || lines[0] !== STATEMENT_HEADER || lines[4] !== "") throw new ComplianceError(`not a ${STATEMENT_HEADER} statement`);
  const [, id, count, rootLine] = lines as [string, string, string, string];
  checkId(id);
  if (!/^[1-9][0-9]{0,5}$/.test(count)) throw new ComplianceError(`statement field count "${count}" is not a positive decimal`);
  const root = Buffer.from(rootLine, "base64");
  if (root.length !== 32 || root.toString("base64") !== rootLine) throw new ComplianceError(`statement root "${rootLine}" is not a base64 SHA-256 hash`);
  return { id, fieldCount: Number(count), root };
}
