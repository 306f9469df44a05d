/**
 * Pedersen DKG over HTTP between n processes (`meridian tbls dkg`), on the kit. Every participant serves its own
 * messages and pulls everyone else's (no coordinator); the rounds are dkg.ts's:
 *
 *   GET /v1/dkg/round1?by=i     {index, t, n, commitments: [hex], encryptionKey: hex}   public (by: the reader)
 *   GET /v1/dkg/echo            {index, echoes: {dealer: sha256 hex | null}}   what each dealer's round 1 showed us
 *   GET /v1/dkg/shares/:to      {from, to, nonce, ciphertext}   the share for `to`, encrypted to it
 *   GET /v1/dkg/complaints      {index, against: [dealer]}
 *   GET /v1/dkg/reveals         {index, reveals: {complainer: hex}}   shares revealed to answer complaints
 *   GET /v1/dkg/done            {index, groupPublicKey, qual}
 *   GET /v1/dkg/evidence        {index, evidence: [DkgEvidence]}   transferable proof against each dealer we could
 *                               convict by its own signed messages (evidence.ts; unsigned: it stands on the dealer's)
 *
 * A message not produced yet is 404 and the reader polls until the phase deadline; a participant that never
 * answers in time is treated as absent (no commitments: not in QUAL; no reveal: disqualified). Private shares are
 * sealed with AES-256-GCM under HKDF(X25519(dealer, recipient)) — each pair's static Diffie–Hellman key, so only
 * the recipient reads a share and only the dealer (or the recipient) could have made it. The X25519 keys are
 * authenticated by nothing more than the participant URLs: on loopback that is the host; across machines the
 * routes must sit behind mTLS (the kit's `server.tls` with SPIFFE peer rules) so a key is bound to an identity —
 * not built here. The echo round (after round 1, before QUAL) makes every participant publish the digest of each
 * dealer's commitments as it saw them; a dealer two echoes disagree about is disqualified, so one that shows
 * different commitments to different peers is caught (docs/proofs.md, "Distributed key generation", says what a
 * lying echo can still do).
 */
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from "node:crypto";
import { z } from "zod";
import { defineService, HttpError } from "../kit/index.js";
import { contribute, type Contribution, type DkgResult } from "./dkg.js";
import type { DkgEvidence, SignedDkgMessage } from "./evidence.js";
import { Fr, scalarFromBytes, scalarToBytes } from "./shamir.js";
import { Sealed, hex, signedBytes, type DkgSigner } from "./dkg-wire.js";

const dkgConfigSchema = z
  .object({
    index: z.number().int().min(1),
    t: z.number().int().min(1),
    n: z.number().int().min(1).max(1024),
    /** Test hook: send this participant a share off the committed polynomial. */
    dishonestShareTo: z.number().int().min(1).optional(),
    /** Test hook: with dishonestShareTo, answer the complaint with the same bad share (→ disqualified). */
    dishonestReveal: z.boolean().optional(),
    /** Test hook: show this participant a second, self-consistent commitment vector (and shares on it). */
    equivocateCommitmentsTo: z.number().int().min(1).optional(),
  })
  .strict()
  .refine((c) => c.t <= c.n && c.index <= c.n, "expected t ≤ n and index ≤ n");
type DkgConfig = z.output<typeof dkgConfigSchema>;

const jwkX = (k: KeyObject) => Buffer.from((k.export({ format: "jwk" }) as { x: string }).x, "base64url");
const x25519Public = (raw: Uint8Array) => createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });

/** One participant's state: what it has published so far (served by the routes) and its secrets. */
export class DkgParticipant {
  readonly contribution: Contribution;
  /** The test hook's second dealing, shown to `equivocateCommitmentsTo` only. */
  private readonly other?: Contribution;
  private readonly keys = generateKeyPairSync("x25519");
  readonly encryptionKey: Uint8Array = jwkX(this.keys.publicKey);
  sealed = new Map<number, z.infer<typeof Sealed>>();
  complaints?: number[];
  reveals?: Map<number, bigint>;
  /** Our echo: dealer → digest of the commitments it showed us (null: none). */
  echo?: Map<number, string | null>;
  /** The round-1 messages we received, as signed by their dealers (published with our echo). */
  readonly round1Seen = new Map<number, SignedDkgMessage>();
  result?: DkgResult;
  /** Evidence against the dealers we disqualified and could convict by their own signed messages. */
  evidence?: DkgEvidence[];
  /** Peers that answered round 1 (the ones to wait for at the end). */
  present: number[] = [];
  /** Peers that have read our /done (so they need nothing more from us). */
  readonly seenBy = new Set<number>();
  /** Set by runDkg before anything is served: the session and our signing key. */
  auth?: { session: Buffer; signer: DkgSigner };

  constructor(readonly config: DkgConfig) {
    this.contribution = contribute(config.index, config.t, config.n);
    if (config.equivocateCommitmentsTo !== undefined) this.other = contribute(config.index, config.t, config.n);
  }

  /** The dealing shown to participant `to` (the second one for the test hook's victim). */
  dealingFor(to: number | undefined): Contribution {
    return this.other && to === this.config.equivocateCommitmentsTo ? this.other : this.contribution;
  }

  private pairKey(peerKey: Uint8Array, from: number, to: number): Buffer {
    const secret = diffieHellman({ privateKey: this.keys.privateKey, publicKey: x25519Public(peerKey) });
    return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), `meridian-dkg/v1 share ${from}->${to}`, 32));
  }

  /** The share this participant sends `to` (altered by the test hook). */
  sentShare(to: number): bigint {
    const v = this.dealingFor(to).shares.get(to)!;
    return this.config.dishonestShareTo === to ? Fr.add(v, 1n) : v;
  }

  seal(to: number, peerKey: Uint8Array): void {
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.pairKey(peerKey, this.config.index, to), nonce);
    const ct = Buffer.concat([c.update(scalarToBytes(this.sentShare(to))), c.final(), c.getAuthTag()]);
    this.sealed.set(to, { from: this.config.index, to, nonce: hex(nonce), ciphertext: hex(ct) });
  }

  open(s: z.infer<typeof Sealed>, peerKey: Uint8Array): bigint | undefined {
    try {
      const ct = Buffer.from(s.ciphertext, "hex");
      const d = createDecipheriv("aes-256-gcm", this.pairKey(peerKey, s.from, this.config.index), Buffer.from(s.nonce, "hex"));
      d.setAuthTag(ct.subarray(ct.length - 16));
      const plain = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
      return plain.length === 32 ? scalarFromBytes(plain) : undefined;
    } catch {
      return undefined; // forged or corrupted: treated as no share, which earns the dealer a complaint
    }
  }

  /** The share revealed to answer `complainer`'s complaint (the true one, unless the test hook says otherwise). */
  revealFor(complainer: number): bigint {
    return this.config.dishonestReveal ? this.sentShare(complainer) : this.dealingFor(complainer).shares.get(complainer)!;
  }
}

const notYet = (what: string) => new HttpError(404, "not yet", `${what} is not published yet; poll again`);

/** Wrap a message for serving: nothing is served before the session is known. */
function signed(p: DkgParticipant, round: string, to: number, body: unknown): { payload: string; sig: string } {
  if (!p.auth) throw notYet(`the ${round} message`);
  const payload = JSON.stringify(body);
  return { payload, sig: Buffer.from(p.auth.signer.sign(signedBytes(p.auth.session, round, p.config.index, to, payload))).toString("base64") };
}

export const dkgService = defineService({
  name: "tbls-dkg",
  config: dkgConfigSchema,
  start({ config }) {
    const participant = new DkgParticipant(config);
    const p = participant;
    return {
      participant,
      routes(app) {
        app.get("/v1/dkg/round1", { config: { auth: "public" } }, async (req) => {
          const by = Number((req.query as { by?: string }).by);
          const reader = Number.isInteger(by) && by >= 1 && by <= config.n ? by : 0;
          return signed(p, "round1", reader, {
            index: config.index,
            t: config.t,
            n: config.n,
            commitments: p.dealingFor(reader).commitments.map(hex),
            encryptionKey: hex(p.encryptionKey),
          });
        });
        app.get("/v1/dkg/shares/:to", { config: { auth: "public" } }, async (req) => {
          const raw = (req.params as { to: string }).to;
          const to = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
          if (!(to >= 1 && to <= config.n)) throw new HttpError(400, "bad participant index", `expected 1..${config.n}, got ${JSON.stringify(raw)}`);
          const s = p.sealed.get(to);
          if (!s) throw notYet(`the share for ${to}`);
          return signed(p, "share", to, s);
        });
        app.get("/v1/dkg/echo", { config: { auth: "public" } }, async () => {
          if (!p.echo) throw notYet("the echo");
          return signed(p, "echo", 0, {
            index: config.index,
            echoes: Object.fromEntries([...p.echo].map(([k, v]) => [String(k), v])),
            seen: Object.fromEntries([...p.round1Seen].map(([k, m]) => [String(k), m])),
          });
        });
        app.get("/v1/dkg/complaints", { config: { auth: "public" } }, async () => {
          if (!p.complaints) throw notYet("the complaint list");
          return signed(p, "complaints", 0, { index: config.index, against: p.complaints });
        });
        app.get("/v1/dkg/reveals", { config: { auth: "public" } }, async () => {
          if (!p.reveals) throw notYet("the reveals");
          return signed(p, "reveals", 0, { index: config.index, reveals: Object.fromEntries([...p.reveals].map(([k, v]) => [String(k), hex(scalarToBytes(v))])) });
        });
        app.get("/v1/dkg/evidence", { config: { auth: "public" } }, async () => {
          if (!p.evidence) throw notYet("the evidence");
          return { index: config.index, evidence: p.evidence };
        });
        app.get("/v1/dkg/done", { config: { auth: "public" } }, async (req) => {
          if (!p.result) throw notYet("the result");
          const by = Number((req.query as { by?: string }).by);
          if (Number.isInteger(by)) p.seenBy.add(by); // bookkeeping only: lets us exit once every peer has seen this
          return signed(p, "done", 0, { index: config.index, groupPublicKey: hex(p.result.groupPublicKey), qual: p.result.qual });
        });
      },
    };
  },
});
