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
import { createCipheriv, createHash, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from "node:crypto";
import { z } from "zod";
import { defineService, HttpError } from "../kit/index.js";
import { commitmentDigest, complaintsFor, contribute, finish, type Contribution, type DkgResult } from "./dkg.js";
import { verifyDkgEvidence, type DkgEvidence, type EvidenceContext, type SignedDkgMessage } from "./evidence.js";
import { Fr, scalarFromBytes, scalarToBytes } from "./shamir.js";
import { ThresholdError } from "./threshold.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));
const hexOf = (len: number) => z.string().regex(new RegExp(`^[0-9a-f]{${len * 2}}$`));

const Round1 = z.object({ index: z.number().int(), t: z.number().int(), n: z.number().int(), commitments: z.array(hexOf(96)).max(1024), encryptionKey: hexOf(32) });
const Sealed = z.object({ from: z.number().int(), to: z.number().int(), nonce: hexOf(12), ciphertext: z.string().regex(/^[0-9a-f]{64,200}$/) });
const Complaints = z.object({ index: z.number().int(), against: z.array(z.number().int()).max(1024) });
const Reveals = z.object({ index: z.number().int(), reveals: z.record(z.string().regex(/^[0-9]{1,4}$/), hexOf(32)) });
const Signed = z.object({ round: z.string().max(32), from: z.number().int(), to: z.number().int(), payload: z.string().max(1 << 18), sig: z.string().max(200) }).strict();
/** `seen`: the round-1 messages (signed by their dealers) behind the digests, so an equivocation is provable. */
const Echo = z.object({
  index: z.number().int(),
  echoes: z.record(z.string().regex(/^[0-9]{1,4}$/), hexOf(32).nullable()),
  seen: z.record(z.string().regex(/^[0-9]{1,4}$/), Signed).optional(),
});
const Done = z.object({ index: z.number().int(), groupPublicKey: hexOf(96) });

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

const Envelope = z.object({ payload: z.string().max(1 << 20), sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/) });

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where and how to check one message: the sender's verifier, the session, the round and the recipient. */
interface Expect {
  verifier: DkgVerifier;
  session: Buffer;
  round: string;
  from: number;
  to: number;
  log: (line: string) => void;
  /** Told the message as signed, once it checks out (kept as evidence). */
  keep?: (m: SignedDkgMessage) => void;
}

/**
 * GET url until it answers 200 with a message signed by the expected sender for this session, round and recipient
 * and a payload the schema accepts, or the deadline passes (→ undefined). A bad signature or a malformed message
 * counts as an absent one (logged, naming the peer).
 */
async function poll<T>(url: string, schema: z.ZodType<T>, deadline: number, e: Expect): Promise<T | undefined> {
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (r.ok) {
        const env = Envelope.safeParse(await r.json());
        if (!env.success || !e.verifier.verify(signedBytes(e.session, e.round, e.from, e.to, env.data.payload), Buffer.from(env.data.sig, "base64"))) {
          e.log(`participant ${e.from}: ${e.round} message with a bad or missing signature (ignored, treated as absent)`);
          return undefined;
        }
        let body: unknown;
        try {
          body = JSON.parse(env.data.payload);
        } catch {
          body = undefined;
        }
        const parsed = schema.safeParse(body);
        if (parsed.success) {
          e.keep?.({ round: e.round, from: e.from, to: e.to, payload: env.data.payload, sig: env.data.sig });
          return parsed.data;
        }
        e.log(`participant ${e.from}: malformed ${e.round} message (treated as absent)`);
        return undefined;
      }
    } catch {
      // not up yet / connection refused: keep polling
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(100);
  }
}

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

export interface RunDkgOptions {
  /** The n participants' base URLs and verifier keys, participant i at peers[i − 1] (its own entry is not fetched). */
  peers: DkgPeer[];
  /** This participant's signer key (`PRIVATE+KEY+…`, `meridian note keygen`); its verifier key must be peers[index − 1].vkey. */
  key: string;
  /** How to read `key` and the peers' `vkey`s (the signed-note key parsers). */
  keys: DkgKeys;
  /** How long to wait for each round's messages from each peer. */
  phaseMs: number;
  log?: (line: string) => void;
}

/**
 * Parse the keys, check ours is the one the peer list names for our index, and start signing (the routes serve
 * nothing before this). Throws ThresholdError naming what is wrong.
 */
function authenticate(p: DkgParticipant, o: RunDkgOptions): { session: Buffer; verifiers: DkgVerifier[] } {
  const { index, t, n } = p.config;
  const verifiers = o.peers.map((peer, k) => {
    try {
      return o.keys.verifier(peer.vkey);
    } catch (e) {
      throw new ThresholdError(`peer ${k + 1} (${peer.url}): ${(e as Error).message}`);
    }
  });
  let signer: DkgSigner;
  try {
    signer = o.keys.signer(o.key);
  } catch (e) {
    throw new ThresholdError(`signer key: ${(e as Error).message}`);
  }
  const mine = verifiers[index - 1]!;
  if (signer.name !== mine.name || signer.keyId !== mine.keyId)
    throw new ThresholdError(`the signer key (${signer.name}+${signer.keyId.toString(16).padStart(8, "0")}) is not participant ${index}'s key in the peer list (${o.peers[index - 1]!.vkey})`);
  const session = dkgSession(t, n, o.peers);
  p.auth ??= { session, signer };
  return { session, verifiers };
}

/** Drive participant `p` through the rounds against its peers; resolves with its result (also served at /done). */
export async function runDkg(p: DkgParticipant, o: RunDkgOptions): Promise<DkgResult> {
  const { index: me, t, n } = p.config;
  if (o.peers.length !== n) throw new Error(`expected ${n} peer URLs, got ${o.peers.length}`);
  const log = o.log ?? (() => undefined);
  const { session, verifiers } = authenticate(p, o);
  const others = Array.from({ length: n }, (_, k) => k + 1).filter((j) => j !== me);
  const base = (j: number) => o.peers[j - 1]!.url.replace(/\/+$/, "");
  const from = (j: number, round: string, to = 0): Expect => ({ verifier: verifiers[j - 1]!, session, round, from: j, to, log });
  const phase = () => Date.now() + o.phaseMs;
  const each = async <T>(f: (j: number) => Promise<T | undefined>): Promise<Map<number, T>> => {
    const got = await Promise.all(others.map(f));
    const out = new Map<number, T>();
    others.forEach((j, k) => {
      if (got[k] !== undefined) out.set(j, got[k]);
    });
    return out;
  };

  // Round 1: commitments and encryption keys.
  let deadline = phase();
  const round1 = await each((j) =>
    poll(`${base(j)}/v1/dkg/round1?by=${me}`, Round1, deadline, { ...from(j, "round1", me), keep: (m) => p.round1Seen.set(j, m) }).then((r) =>
      r && r.index === j && r.t === t && r.n === n ? r : undefined,
    ),
  );
  for (const j of others) if (!round1.has(j)) log(`participant ${j}: no round-1 message (absent)`);
  p.present = [...round1.keys()];
  const commitments = new Map<number, Uint8Array[]>([[me, p.contribution.commitments]]);
  for (const [j, r] of round1) commitments.set(j, r.commitments.map(unhex));

  // Echo: publish the digest of every dealer's commitments as we saw them; read everyone's. A dealer that showed
  // two participants different commitments (or commitments to one and none to another) is disqualified in finish().
  p.echo = new Map(Array.from({ length: n }, (_, k) => k + 1).map((j) => [j, commitments.has(j) ? commitmentDigest(commitments.get(j)!) : null]));
  deadline = phase();
  const echoes = new Map<number, Map<number, string | null>>([[me, p.echo]]);
  const seen: SignedDkgMessage[][] = Array.from({ length: n + 1 }, (_, j) => (p.round1Seen.has(j) ? [p.round1Seen.get(j)!] : []));
  for (const [j, e] of await each((j) => poll(`${base(j)}/v1/dkg/echo`, Echo, deadline, from(j, "echo")))) {
    if (e.index !== j) continue;
    echoes.set(j, new Map(Object.entries(e.echoes).map(([k, v]) => [Number(k), v])));
    for (const [k, m] of Object.entries(e.seen ?? {})) if (Number(k) >= 1 && Number(k) <= n) seen[Number(k)]!.push(m);
  }

  // Round 2: private shares, sealed to each recipient; open ours and check them against the commitments.
  for (const [j, r] of round1) p.seal(j, unhex(r.encryptionKey));
  deadline = phase();
  const received = new Map<number, bigint>([[me, p.contribution.shares.get(me)!]]);
  const opened = await each(async (j) => {
    const r = round1.get(j);
    const s = r && (await poll(`${base(j)}/v1/dkg/shares/${me}`, Sealed, deadline, from(j, "share", me)));
    return s && s.from === j && s.to === me ? p.open(s, unhex(r.encryptionKey)) : undefined;
  });
  for (const [j, v] of opened) received.set(j, v);

  // Round 3: complaints against dealers whose share is missing or fails their commitments.
  p.complaints = complaintsFor(commitments, t, me, received);
  if (p.complaints.length > 0) log(`complaining against ${p.complaints.join(", ")}`);
  deadline = phase();
  const complaints = new Map<number, number[]>([[me, p.complaints]]);
  for (const [j, c] of await each((j) => poll(`${base(j)}/v1/dkg/complaints`, Complaints, deadline, from(j, "complaints")))) if (c.index === j) complaints.set(j, c.against);

  // Round 4: answer complaints against us by revealing the share in public; read everyone's answers.
  p.reveals = new Map([...complaints].filter(([k, against]) => k !== me && against.includes(me)).map(([k]) => [k, p.revealFor(k)]));
  deadline = phase();
  const reveals = new Map<number, Map<number, bigint>>([[me, p.reveals]]);
  const revealMsgs = new Map<number, SignedDkgMessage>();
  const needed = others.filter((j) => [...complaints.values()].some((a) => a.includes(j)));
  for (const [j, r] of await each((j) =>
    needed.includes(j) ? poll(`${base(j)}/v1/dkg/reveals`, Reveals, deadline, { ...from(j, "reveals"), keep: (m) => revealMsgs.set(j, m) }) : Promise.resolve(undefined),
  ))
    if (r.index === j) reveals.set(j, new Map(Object.entries(r.reveals).map(([k, v]) => [Number(k), scalarFromBytes(unhex(v))])));

  p.result = finish({ t, n, commitments, complaints, reveals, echoes }, me, received);
  for (const d of p.result.disqualified) log(`disqualified participant ${d.dealer}: ${d.reason}`);
  p.evidence = collectEvidence(p, { t, n, ctx: evidenceContext(t, n, o.peers, verifiers), seen, complaints, revealMsgs });
  for (const ev of p.evidence) log(`evidence against participant ${ev.dealer}: ${ev.kind}`);
  return p.result;
}

/** How a third party checks evidence from this run: the session and the dealers' verifier keys from the roster. */
export function evidenceContext(t: number, n: number, peers: readonly DkgPeer[], verifiers: readonly DkgVerifier[]): EvidenceContext {
  return { session: dkgSession(t, n, peers).toString("hex"), verifier: (j) => verifiers[j - 1], signedBytes };
}

/**
 * Evidence against every dealer that convicts itself: two round-1 messages with different vectors among those we and
 * the echoers received, or a signed reveal that fails its signed commitments. Only evidence that verifies is kept.
 */
function collectEvidence(
  p: DkgParticipant,
  o: { t: number; n: number; ctx: EvidenceContext; seen: SignedDkgMessage[][]; complaints: Map<number, number[]>; revealMsgs: Map<number, SignedDkgMessage> },
): DkgEvidence[] {
  const out: DkgEvidence[] = [];
  const base = { v: "meridian-dkg-evidence/1" as const, t: o.t, n: o.n, session: o.ctx.session };
  for (let j = 1; j <= o.n; j++) {
    if (j === p.config.index) continue;
    const found = ((): DkgEvidence | undefined => {
      const msgs = o.seen[j] ?? [];
      for (let a = 0; a < msgs.length; a++)
        for (let b = a + 1; b < msgs.length; b++) {
          const ev: DkgEvidence = { ...base, kind: "equivocation", dealer: j, messages: [msgs[a]!, msgs[b]!] };
          if (verifyDkgEvidence(ev, o.ctx).guilty) return ev;
        }
      const r1 = p.round1Seen.get(j);
      const reveal = o.revealMsgs.get(j);
      if (!r1 || !reveal) return undefined;
      for (const [i, against] of o.complaints) {
        if (!against.includes(j)) continue;
        const ev: DkgEvidence = { ...base, kind: "bad-share", dealer: j, complainer: i, round1: r1, reveal };
        if (verifyDkgEvidence(ev, o.ctx).guilty) return ev;
      }
      return undefined;
    })();
    if (found) out.push(found);
  }
  return out;
}

/**
 * After finishing, keep serving until every present peer has finished and has read our /done (until then it may
 * still need our reveals); returns the peers that report a different group key.
 */
export async function awaitPeers(p: DkgParticipant, o: RunDkgOptions): Promise<string[]> {
  const deadline = Date.now() + o.phaseMs;
  const me = p.config.index;
  const { session, verifiers } = authenticate(p, o);
  const log = o.log ?? (() => undefined);
  const done = await Promise.all(
    p.present.map((j) => poll(`${o.peers[j - 1]!.url.replace(/\/+$/, "")}/v1/dkg/done?by=${me}`, Done, deadline, { verifier: verifiers[j - 1]!, session, round: "done", from: j, to: 0, log })),
  );
  while (p.present.some((j) => !p.seenBy.has(j)) && Date.now() < deadline) await sleep(50);
  const mine = hex(p.result!.groupPublicKey);
  return p.present.filter((_, k) => done[k] !== undefined && done[k]!.groupPublicKey !== mine).map((j) => `participant ${j} reports a different group key`);
}
