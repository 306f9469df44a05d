/**
 * The DKG's wire format (dkg-http.ts serves it, dkg-run.ts reads it): the messages' schemas, the session both sides
 * derive, the bytes a message's signature covers, and the signed-note keys the participants sign with.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
export const unhex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const hexOf = (len: number) => z.string().regex(new RegExp(`^[0-9a-f]{${len * 2}}$`));

export const Round1 = z.object({ index: z.number().int(), t: z.number().int(), n: z.number().int(), commitments: z.array(hexOf(96)).max(1024), encryptionKey: hexOf(32) });
export const Sealed = z.object({ from: z.number().int(), to: z.number().int(), nonce: hexOf(12), ciphertext: z.string().regex(/^[0-9a-f]{64,200}$/) });
export const Complaints = z.object({ index: z.number().int(), against: z.array(z.number().int()).max(1024) });
export const Reveals = z.object({ index: z.number().int(), reveals: z.record(z.string().regex(/^[0-9]{1,4}$/), hexOf(32)) });
const Signed = z.object({ round: z.string().max(32), from: z.number().int(), to: z.number().int(), payload: z.string().max(1 << 18), sig: z.string().max(200) }).strict();
/** `seen`: the round-1 messages (signed by their dealers) behind the digests, so an equivocation is provable. */
export const Echo = z.object({
  index: z.number().int(),
  echoes: z.record(z.string().regex(/^[0-9]{1,4}$/), hexOf(32).nullable()),
  seen: z.record(z.string().regex(/^[0-9]{1,4}$/), Signed).optional(),
});
export const Done = z.object({ index: z.number().int(), groupPublicKey: hexOf(96) });

/** A participant as its peers name it: where it serves and its Ed25519 verifier key (signed-note text form). */
export interface DkgPeer {
  url: string;
  vkey: string;
}

/** The session both sides derive: SHA-256 over the domain, t, n and every peer's URL and key, in index order. */
export function dkgSession(t: number, n: number, peers: readonly DkgPeer[]): Buffer {
  return createHash("sha256")
    .update(JSON.stringify(["meridian-dkg/v1 session", t, n, peers.map((p) => [p.url, p.vkey])]))
    .digest();
}

/** The bytes a DKG message's signature covers: domain, session, round, sender, recipient (0: all), payload. */
export function signedBytes(session: Uint8Array, round: string, from: number, to: number, payload: string): Buffer {
  return Buffer.from(`meridian-dkg/v1 message\n${Buffer.from(session).toString("hex")}\n${round}\n${from}\n${to}\n${payload}`);
}

export const Envelope = z.object({ payload: z.string().max(1 << 20), sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/) });

/**
 * A participant's long-term identity key, as runtime/prooflog's signed-note keys make them (`newSigner`/`newVerifier`).
 * Passed in, not imported: the proof log's witnesses use this package, so it must not import the log back.
 */
export interface DkgSigner {
  readonly name: string;
  readonly keyId: number;
  sign(text: Uint8Array): Uint8Array;
}
export interface DkgVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, sig: Uint8Array): boolean;
}
/** Parsers of the signer key and peers' verifier keys (they throw naming what is wrong). */
export interface DkgKeys {
  signer(skey: string): DkgSigner;
  verifier(vkey: string): DkgVerifier;
}
