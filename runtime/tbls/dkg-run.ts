/**
 * Driving one participant of the DKG over HTTP (`meridian tbls dkg`): pull every peer's signed messages round by round
 * (dkg-http.ts serves them), check each against its sender's key and the session, and keep what convicts a dealer.
 */
import { z } from "zod";
import { commitmentDigest, complaintsFor, finish, type DkgResult } from "./dkg.js";
import { verifyDkgEvidence, type DkgEvidence, type EvidenceContext, type SignedDkgMessage } from "./evidence.js";
import { scalarFromBytes } from "./shamir.js";
import { ThresholdError } from "./threshold.js";
import { Complaints, Done, Echo, Envelope, Reveals, Round1, Sealed, dkgSession, hex, signedBytes, unhex, type DkgKeys, type DkgPeer, type DkgSigner, type DkgVerifier } from "./dkg-wire.js";
import { DkgParticipant } from "./dkg-http.js";

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
