/**
 * The DKG over HTTP (dkg-http.ts) with five participants on the kit in one process, each on its own port and with
 * its own Ed25519 identity key (signed-note format): a dealer that answers a complaint with a bad share (the test
 * hook `dishonestReveal`) is disqualified by all four others, who agree on the key and whose shares sign under it,
 * and each publishes evidence (GET /v1/dkg/evidence) that convicts it before a third party holding only the roster;
 * the same evidence re-signed by another key, from another session or with a good share proves nothing, nor do an
 * honest dealer's two round-1 messages.
 * A man in the middle in front of one participant that swaps its X25519 key for its own (so it could read every
 * share sent there) and re-signs with its own key is refused by everyone: that participant counts as absent.
 * test/cli/tbls-dkg.test.ts runs five `meridian tbls dkg` processes on the same code.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { generateKey, newSigner, newVerifier } from "../../../runtime/prooflog/note.js";
const noteKeys = { signer: newSigner, verifier: newVerifier };
import { awaitPeers, combine, DkgParticipant, dkgService, dkgSession, partialSign, runDkg, signedBytes, type DkgPeer } from "../../../runtime/tbls/index.js";
import { evidenceContext } from "../../../runtime/tbls/dkg-run.js";
import { verifyDkgEvidence, type DkgEvidence, type SignedDkgMessage } from "../../../runtime/tbls/evidence.js";
import { scalarToBytes } from "../../../runtime/tbls/shamir.js";

const running: RunningService[] = [];
const proxies: Server[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.close()));
  for (const s of proxies) s.close();
});
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const t = 3;
const n = 5;

async function participants(hooks: (i: number) => object = () => ({})) {
  const keys = Array.from({ length: n }, (_, k) => generateKey(`dkg-p${k + 1}`));
  const services = await Promise.all(Array.from({ length: n }, (_, k) => startService(dkgService, { index: k + 1, t, n, ...hooks(k + 1), server: { port: 0 } }, { processMetrics: false })));
  running.push(...services);
  const ps = services.map((s) => (s.parts as { participant: DkgParticipant }).participant);
  return { keys, services, ps, peers: services.map((s, k): DkgPeer => ({ url: s.url, vkey: keys[k]!.verifierKey })) };
}

describe("Pedersen DKG over HTTP, five participants in-process", () => {
  it("a dealer that answers the complaint with a bad share is disqualified by everyone; the other four make the key", async () => {
    const { keys, ps, peers } = await participants((i) => (i === 2 ? { dishonestShareTo: 4, dishonestReveal: true } : {}));
    const logs: string[][] = ps.map(() => []);
    const opts = (k: number) => ({ peers, key: keys[k]!.signerKey, keys: noteKeys, phaseMs: 60_000, log: (line: string) => logs[k]!.push(line) });
    const results = await Promise.all(ps.map((p, k) => runDkg(p, opts(k))));
    expect(await Promise.all(ps.map((p, k) => awaitPeers(p, opts(k))))).toEqual(ps.map(() => []));

    const key = hex(results[0]!.groupPublicKey);
    for (const r of results) {
      expect([hex(r.groupPublicKey), r.qual]).toEqual([key, [1, 3, 4, 5]]);
      expect(r.disqualified).toEqual([{ dealer: 2, reason: "revealed a share for participant 4 that fails its commitments" }]);
    }
    expect(logs[3]).toContain("complaining against 2");

    // Every honest participant publishes transferable evidence: dealer 2's signed commitments and its signed bad reveal.
    const ctx = evidenceContext(
      t,
      n,
      peers,
      peers.map((p) => newVerifier(p.vkey)),
    );
    for (const k of [0, 2, 3, 4]) {
      const served = (await (await fetch(`${peers[k]!.url}/v1/dkg/evidence`)).json()) as { evidence: DkgEvidence[] };
      expect(served.evidence).toEqual(ps[k]!.evidence);
      expect(served.evidence.map((e) => [e.kind, e.dealer])).toEqual([["bad-share", 2]]);
      expect(verifyDkgEvidence(served.evidence[0]!, ctx)).toEqual({ guilty: true, dealer: 2, reason: "dealer 2 revealed (signed) a share for participant 4 that fails its signed commitments" });
    }
    const ev = ps[0]!.evidence![0] as Extract<DkgEvidence, { kind: "bad-share" }>;
    // Re-signed by someone else, for another session, or with the reveal replaced by a good share: it proves nothing.
    const other = generateKey("dkg-p2");
    const forged = { ...ev.reveal, sig: Buffer.from(newSigner(other.signerKey).sign(signedBytes(dkgSession(t, n, peers), "reveals", 2, 0, ev.reveal.payload))).toString("base64") };
    expect(verifyDkgEvidence({ ...ev, reveal: forged }, ctx)).toMatchObject({ guilty: false, reason: "the reveals message to 0 is not signed by dealer 2 in this session" });
    expect(verifyDkgEvidence(ev, { ...ctx, session: dkgSession(t, n, [...peers].reverse()).toString("hex") })).toMatchObject({ guilty: false, reason: expect.stringMatching(/not this roster's/) });
    const good = JSON.stringify({ index: 2, reveals: { "4": hex(scalarToBytes(ps[1]!.contribution.shares.get(4)!)) } });
    const goodReveal = { ...ev.reveal, payload: good, sig: Buffer.from(newSigner(keys[1]!.signerKey).sign(signedBytes(dkgSession(t, n, peers), "reveals", 2, 0, good))).toString("base64") };
    expect(verifyDkgEvidence({ ...ev, reveal: goodReveal }, ctx)).toMatchObject({ guilty: false, reason: "the share dealer 2 revealed for participant 4 matches its commitments" });
    // An honest dealer's two round-1 messages (as participants 1 and 4 received them) commit to one vector.
    const honest3 = [ps[0]!.round1Seen.get(3)!, ps[3]!.round1Seen.get(3)!] as [SignedDkgMessage, SignedDkgMessage];
    expect(verifyDkgEvidence({ v: "meridian-dkg-evidence/1", kind: "equivocation", t, n, session: ctx.session, dealer: 3, messages: honest3 }, ctx)).toMatchObject({
      guilty: false,
      reason: expect.stringMatching(/same vector/),
    });
    const message = new TextEncoder().encode("example.com/log\n42\n");
    const sig = combine(
      t,
      [1, 3, 4].map((i) => partialSign(message, results[i - 1]!.share)),
    );
    const bls = bls12_381.shortSignatures;
    expect(bls.verify(sig, bls.hash(message), results[0]!.groupPublicKey)).toBe(true);
  });

  it("a man in the middle that swaps participant 5's X25519 key and re-signs with its own key is refused: 5 counts as absent for everyone else", async () => {
    const { keys, services, ps, peers } = await participants();
    const attacker = newSigner(generateKey("dkg-p5").signerKey); // same name, another key
    const attackerX = generateKeyPairSync("x25519").publicKey.export({ format: "jwk" }) as { x: string };
    const target = services[4]!.url.replace(/\/+$/, "");
    const proxy = createServer((req, res) => {
      void (async () => {
        const r = await fetch(`${target}${req.url}`);
        const body = await r.text();
        res.statusCode = r.status;
        res.setHeader("content-type", "application/json");
        if (r.ok && req.url!.startsWith("/v1/dkg/round1")) {
          const env = JSON.parse(body) as { payload: string; sig: string };
          const msg = JSON.parse(env.payload) as { encryptionKey: string };
          msg.encryptionKey = Buffer.from(attackerX.x, "base64url").toString("hex");
          const payload = JSON.stringify(msg);
          const by = Number(new URL(req.url!, "http://x").searchParams.get("by"));
          const sig = Buffer.from(attacker.sign(signedBytes(dkgSession(t, n, viaProxy), "round1", 5, by, payload))).toString("base64");
          res.end(JSON.stringify({ payload, sig }));
        } else res.end(body);
      })();
    });
    proxies.push(proxy);
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    // Everyone reaches participant 5 through the proxy; its key in the list is still the genuine one.
    const viaProxy = peers.map((p, k) => (k === 4 ? { ...p, url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` } : p));
    const logs: string[][] = ps.map(() => []);
    const opts = (k: number) => ({ peers: viaProxy, key: keys[k]!.signerKey, keys: noteKeys, phaseMs: 8_000, log: (line: string) => logs[k]!.push(line) });
    // Participant 5 itself gets no shares (nobody took its key) and waits out its share phase before it publishes
    // its complaints, which the others wait for: hence a shorter phase here (8 s: the honest four's rounds took ~5 s in
    // all at load 20 on two cores, so no phase of theirs comes near it). Its own run is not awaited.
    const runs = ps.map((p, k) => runDkg(p, opts(k)));
    runs[4]!.catch(() => undefined);
    const results = await Promise.all(runs.slice(0, 4));
    const honest = results;
    const key = hex(honest[0]!.groupPublicKey);
    for (const [k, r] of honest.entries()) {
      expect([hex(r.groupPublicKey), r.qual]).toEqual([key, [1, 2, 3, 4]]);
      expect(logs[k]).toContain("participant 5: round1 message with a bad or missing signature (ignored, treated as absent)");
    }
    const message = new TextEncoder().encode("example.com/log\n43\n");
    const bls = bls12_381.shortSignatures;
    const sig = combine(
      t,
      [1, 2, 4].map((i) => partialSign(message, results[i - 1]!.share)),
    );
    expect(bls.verify(sig, bls.hash(message), honest[0]!.groupPublicKey)).toBe(true);
  });
});

describe("what a DKG message signature covers", () => {
  it("a signed message does not verify in another session, round, sender slot or for another recipient, or with its payload changed", () => {
    const k = generateKey("dkg-p1");
    const signer = newSigner(k.signerKey);
    const verifier = newVerifier(k.verifierKey);
    const peers: DkgPeer[] = [1, 2, 3].map((i) => ({ url: `http://127.0.0.1:${18000 + i}`, vkey: i === 1 ? k.verifierKey : generateKey(`dkg-p${i}`).verifierKey }));
    const session = dkgSession(2, 3, peers);
    const payload = JSON.stringify({ index: 1, against: [] });
    const sig = signer.sign(signedBytes(session, "complaints", 1, 0, payload));
    expect(verifier.verify(signedBytes(session, "complaints", 1, 0, payload), sig)).toBe(true);
    const others = [
      signedBytes(dkgSession(3, 3, peers), "complaints", 1, 0, payload), // another t
      signedBytes(dkgSession(2, 3, [peers[0]!, peers[2]!, peers[1]!]), "complaints", 1, 0, payload), // another peer list
      signedBytes(session, "echo", 1, 0, payload),
      signedBytes(session, "complaints", 2, 0, payload),
      signedBytes(session, "complaints", 1, 2, payload),
      signedBytes(session, "complaints", 1, 0, JSON.stringify({ index: 1, against: [2] })),
    ];
    for (const bytes of others) expect(verifier.verify(bytes, sig)).toBe(false);
  });
});
