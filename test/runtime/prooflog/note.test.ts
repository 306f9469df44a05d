import { describe, expect, it } from "vitest";
import { generateKey, newSigner, newVerifier, NoteError, openNote, signNote, ALG_COSIGNATURE_V1, parseVerifierKey, parseSignedNote, splitForSigning } from "../../../runtime/prooflog/note.js";
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";

// The worked example in golang.org/x/mod/sumdb/note's package documentation.
const GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_MSG = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

function kind(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof NoteError ? e.kind : String(e);
  }
  return "ok";
}

describe("signed notes", () => {
  it("reproduces Go's sumdb/note example byte for byte and opens it", () => {
    expect(signNote(GO_TEXT, [newSigner(GO_SKEY)])).toBe(GO_MSG);
    const n = openNote(GO_MSG, [newVerifier(GO_VKEY)]);
    expect(n.text).toBe(GO_TEXT);
    expect(n.sigs).toEqual([{ name: "PeterNeumann", keyId: 0xc74f20a3, base64: expect.any(String) }]);
  });

  it("generated keys sign and verify, and the key id commits to name and key", () => {
    const { signerKey, verifierKey } = generateKey("example.com/log");
    expect(signerKey).toMatch(/^PRIVATE\+KEY\+example\.com\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    expect(verifierKey.split("+")[1]).toBe(signerKey.split("+")[3]);
    const msg = signNote("hello\n", [newSigner(signerKey)]);
    expect(openNote(msg, [newVerifier(verifierKey)]).text).toBe("hello\n");
    const renamed = verifierKey.replace("example.com/log", "example.com/other");
    expect(kind(() => newVerifier(renamed))).toBe("bad-key");
    expect(parseVerifierKey(generateKey("w", ALG_COSIGNATURE_V1).verifierKey).alg).toBe(4);
  });

  it("rejects malformed notes, unknown keys, bad signatures and ambiguous keys with distinct reasons", () => {
    const v = newVerifier(GO_VKEY);
    expect(kind(() => openNote(GO_TEXT, [v]))).toBe("malformed");
    expect(kind(() => openNote(GO_MSG.replace("— ", "-- "), [v]))).toBe("malformed");
    expect(kind(() => openNote(GO_MSG.replace("problem,", "problem,\x07"), [v]))).toBe("malformed");
    expect(kind(() => openNote(Buffer.concat([Buffer.from(GO_MSG), Buffer.from([0xff])]), [v]))).toBe("malformed");
    expect(kind(() => openNote(GO_MSG.slice(0, -1), [v]))).toBe("malformed");
    expect(kind(() => openNote(GO_MSG, [newVerifier(generateKey("PeterNeumann").verifierKey)]))).toBe("unverified");
    expect(kind(() => openNote(GO_MSG.replace("answer", "ANSWER"), [v]))).toBe("invalid-signature");
    expect(kind(() => openNote(GO_MSG, [v, newVerifier(GO_VKEY)]))).toBe("ambiguous-key");
  });

  it("keeps unknown signatures as unverified and re-signing replaces only the same key", () => {
    const other = generateKey("other");
    const twice = signNote(GO_TEXT, [newSigner(other.signerKey)], openNote(GO_MSG, [newVerifier(GO_VKEY)]).sigs);
    const n = openNote(twice, [newVerifier(GO_VKEY)]);
    expect(n.sigs.map((s) => s.name)).toEqual(["PeterNeumann"]);
    expect(n.unverified.map((s) => s.name)).toEqual(["other"]);
  });
});

describe("the signed-note parser", () => {
  const message = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as Error).message;
    }
    return "ok";
  };
  it("splits text and signature lines, keeping the raw signature bytes", () => {
    const p = parseSignedNote(GO_MSG);
    expect(p.text).toBe(GO_TEXT);
    expect(p.lines).toHaveLength(1);
    expect(p.lines[0]!.keyId).toBe(0xc74f20a3);
    expect(p.lines[0]!.sig).toHaveLength(64);
  });
  it("names the line and the fault of a malformed signature line", () => {
    expect(message(() => parseSignedNote(`${GO_TEXT}\n— PeterNeumann\n`))).toMatch(/signature line 1 .*no space between the key name and the signature/);
    expect(message(() => parseSignedNote(`${GO_TEXT}\n— Peter+Neumann AAAAAAAA\n`))).toMatch(/key name "Peter\+Neumann"/);
    expect(message(() => parseSignedNote(`${GO_MSG}— x %%%%\n`))).toMatch(/signature line 2 .*not standard padded base64/);
    expect(message(() => parseSignedNote(`${GO_TEXT}\n— x AAAA\n`))).toMatch(/3 bytes; it needs a 4-byte key ID/);
    expect(message(() => parseSignedNote(`${GO_TEXT}\n`))).toMatch(/no signature lines/);
    expect(message(() => parseSignedNote(`${GO_TEXT}\n${"— x AAAAAAAA\n".repeat(101)}`))).toMatch(/101 signature lines; at most 100/);
  });
  it("splitForSigning: plain text is all text, a signed note keeps its signatures, a malformed block is an error", () => {
    expect(splitForSigning("a\n\nb\n")).toEqual({ text: "a\n\nb\n", sigs: [] });
    expect(splitForSigning(GO_MSG).text).toBe(GO_TEXT);
    expect(splitForSigning(GO_MSG).sigs.map((s) => s.name)).toEqual(["PeterNeumann"]);
    expect(() => splitForSigning(`${GO_MSG}— broken\n`)).toThrow(NoteError);
  });
});

describe("checkpoints", () => {
  const root = leafHash(Buffer.from("x"));
  it("round-trips through a signed note and checks the origin", () => {
    const { signerKey, verifierKey } = generateKey("example.com/log");
    const cp = { origin: "example.com/log", size: 2 ** 40 + 3, root, extensions: ["ext one"] };
    const note = signCheckpoint(cp, [newSigner(signerKey)]);
    const opened = openCheckpoint(note, [newVerifier(verifierKey)], "example.com/log");
    expect(opened.checkpoint).toEqual({ ...cp, root: Buffer.from(root) });
    expect(kind(() => openCheckpoint(note, [newVerifier(verifierKey)], "example.com/other"))).toBe("malformed");
  });
  it("rejects malformed bodies", () => {
    const good = formatCheckpoint({ origin: "o", size: 5, root, extensions: [] });
    expect(parseCheckpoint(good).size).toBe(5);
    expect(kind(() => parseCheckpoint(good.replace("\n5\n", "\n05\n")))).toBe("malformed");
    expect(kind(() => parseCheckpoint(good.replace("\n5\n", "\n-5\n")))).toBe("malformed");
    expect(kind(() => parseCheckpoint(good.replace("\n5\n", "\n99999999999999999999\n")))).toBe("malformed");
    expect(kind(() => parseCheckpoint("o\n5\nAAAA\n"))).toBe("malformed");
    expect(kind(() => parseCheckpoint("o\n5\n"))).toBe("malformed");
  });
});
