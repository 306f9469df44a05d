// Known answers for the compliance hash constructions: the field entry's framing and domain prefix, the record
// root (an RFC 6962 tree over the field entries, in UTF-8 name order) and the statement text, each computed here
// independently of the code and pinned in hex (the pins were computed with Python hashlib from the byte layout
// written out here) so a change of encoding cannot pass silently.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { FIELD_DOMAIN, fieldEntry, recordTree, saltFields, statementText } from "../../../runtime/compliance/index.js";
import { verifyInclusion } from "../../../runtime/prooflog/index.js";

const sha256 = (...parts: Uint8Array[]) => createHash("sha256").update(Buffer.concat(parts)).digest();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const SALT_A = Buffer.alloc(32, 0xa1);
const SALT_B = Buffer.alloc(32, 0xb2);

describe("compliance field commitments (known answers)", () => {
  it("pins the field entry: domain ‖ 0x00 ‖ salt ‖ u16 name length ‖ name ‖ u32 value length ‖ JSON value", () => {
    expect(FIELD_DOMAIN).toBe("meridian/compliance/field/v1");
    const entry = fieldEntry({ name: "sold", value: 41250, salt: SALT_A });
    const expected = Buffer.concat([Buffer.from("meridian/compliance/field/v1\0"), SALT_A, Buffer.from([0, 4]), Buffer.from("sold"), Buffer.from([0, 0, 0, 5]), Buffer.from("41250")]);
    expect(hex(entry)).toBe(hex(expected));
    expect(hex(sha256(Buffer.from([0]), entry))).toBe("4665f03b82eee1c95c61f6e4ae510fcb0b27e960644521f43bff855b6467035f");
    // The JSON type is committed: 41250 and "41250" differ.
    expect(hex(fieldEntry({ name: "sold", value: "41250", salt: SALT_A }))).not.toBe(hex(entry));
  });

  it("pins the record root: RFC 6962 over the field entries sorted by name", () => {
    const salts: Record<string, Buffer> = { region: SALT_A, sold: SALT_B };
    const tree = recordTree(saltFields({ sold: 41250, region: "eu-west" }, (n) => salts[n]!));
    expect(tree.fields.map((f) => f.name)).toEqual(["region", "sold"]);
    const leaf = (e: Buffer) => sha256(Buffer.from([0]), e);
    const l0 = leaf(fieldEntry({ name: "region", value: "eu-west", salt: SALT_A }));
    const l1 = leaf(fieldEntry({ name: "sold", value: 41250, salt: SALT_B }));
    expect(hex(tree.root)).toBe(hex(sha256(Buffer.from([1]), l0, l1)));
    expect(hex(tree.root)).toBe("301a088d9fb0cde1770721b7f2dd5a4493cc8753d4db81e401f2b41485982b7f");
    expect(statementText({ id: "r-1", fieldCount: 2, root: tree.root })).toBe(`meridian/compliance/record/v1\nr-1\n2\n${Buffer.from(tree.root).toString("base64")}\n`);
  });

  it("every field's proof verifies under the root, for any record (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)), { minKeys: 1, maxKeys: 20 }), (fields) => {
        const tree = recordTree(saltFields(fields));
        for (const f of tree.fields) {
          const { index, proof } = tree.prove(f.name);
          verifyInclusion(index, tree.fields.length, sha256(Buffer.from([0]), fieldEntry(f)), proof, tree.root);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("refuses a wrong salt size, an empty record, a non-finite number", () => {
    expect(() => fieldEntry({ name: "a", value: 1, salt: Buffer.alloc(16) })).toThrow(/salt is 16 bytes, expected 32/);
    expect(() => saltFields({})).toThrow(/at least one field/);
    expect(() => fieldEntry({ name: "a", value: Infinity, salt: SALT_A })).toThrow(/not a JSON number/);
  });
});
