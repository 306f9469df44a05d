/**
 * The challenge court (kit), `meridian fraud serve`: where a sequencer's checkpoints are asserted and challenged.
 * With `machine: escrow` the transitions are the escrow ledger's (escrow-log.ts: an escrow's /v1/transitions log).
 * It holds only the sequencer's verifier key; a checkpoint asserted here is final once the challenge window has
 * passed unless someone proved one of its transitions invalid (checkFraudProof: the proof carries everything).
 *
 *   POST /v1/fraud/claims       {checkpoint}  → 201 {id, origin, size, status, closesAt} (200 when already asserted)
 *   GET  /v1/fraud/claims/:id                 → {id, origin, size, status, closesAt, fraud?}
 *   POST /v1/fraud/proofs       fraud proof   → 200 {id, status: "rejected", fraud} — or 422 naming why it is refused,
 *                                               404 for a checkpoint never asserted, 409 once the window has closed
 *
 * Every route is public: a claim must carry the sequencer's signature and a proof is checked whole. With `data`,
 * assertions and proven frauds are appended to `court.jsonl` with the time they were taken and replayed (re-verified)
 * at start, so a restart keeps each claim's window and verdict.
 */
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigFileError, defineService, HttpError, parseInput } from "../kit/index.js";
import { newVerifier, openCheckpoint } from "../prooflog/index.js";
import { ChallengeWindow } from "./bisect.js";
import { checkEscrowFraudProof, type EscrowFraudProof } from "./escrow-log.js";
import { FraudInputError } from "./challenge.js";
import { checkFraudProof, type FraudProof } from "./transitions.js";

const courtConfigSchema = z
  .object({
    /** The sequencer's note verifier key (or a file holding it); its name is the log's origin. */
    vkey: z.string().min(1),
    /** How long after its assertion a checkpoint can be challenged (ms). Default: 7 days, as optimistic rollups. */
    windowMs: z
      .number()
      .int()
      .min(1)
      .default(7 * 24 * 3600 * 1000),
    /** What the log's transitions are: balance transfers (transitions.ts) or the escrow ledger's operations (escrow-log.ts). */
    machine: z.enum(["balances", "escrow"]).default("balances"),
    /** Directory where assertions and verdicts persist. Default: memory. */
    data: z.string().min(1).optional(),
  })
  .strict();

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "base64");
const logged = z.object({ index: z.number().int().min(0), entry: b64.max(1 << 16), inclusion: z.array(b64.max(64)).max(64) }).strict();
const FraudProofJson = z
  .object({
    checkpoint: z.string().min(1).max(8192),
    challenged: logged,
    previous: logged.optional(),
    reads: z
      .union([
        z.array(z.object({ account: z.string().min(1).max(256), balance: z.string().min(1).max(80) }).strict()).max(2),
        z.array(z.object({ key: z.string().min(1).max(512), value: z.string().max(1024).nullable() }).strict()).max(2),
      ])
      .optional(),
    proof: z
      // Balances: 32-byte hex siblings; escrow: the compact tree's proof items (runtime/prooflog/csmt/proof.ts).
      .array(z.union([z.string().regex(/^([0-9a-f]{64}|down|(leaf|node):[0-9a-f]{128})$/, "a 32-byte hex sibling or a compact proof item"), z.null()]))
      .max(1024)
      .optional(),
  })
  .strict();
const ClaimJson = z.object({ checkpoint: z.string().min(1).max(8192) }).strict();
const CourtRecord = z.union([
  z.object({ type: z.literal("assert"), at: z.number(), checkpoint: z.string() }).strict(),
  z.object({ type: z.literal("fraud"), at: z.number(), proof: FraudProofJson }).strict(),
]);

interface Claim {
  id: string;
  origin: string;
  size: number;
  fraud?: { index: number; reason: string };
}

function keyText(value: string): string {
  if (!existsSync(value)) return value.trim();
  const line = readFileSync(value, "utf8")
    .split("\n")
    .find((l) => l.trim() !== "");
  if (!line) throw new ConfigFileError(value, ["vkey: the file holds no key"]);
  return line.trim();
}

export const courtService = defineService({
  name: "fraud",
  config: courtConfigSchema,
  start({ config, clock }) {
    const vkey = keyText(config.vkey);
    const origin = vkey.split("+")[0]!;
    try {
      newVerifier(vkey);
    } catch (e) {
      throw new ConfigFileError("(fraud config)", [`vkey: ${(e as Error).message}`]);
    }
    const window = new ChallengeWindow(config.windowMs);
    const claims = new Map<string, Claim & { at: number }>();
    const file = config.data === undefined ? undefined : join(config.data, "court.jsonl");

    /** The claim id of a signed checkpoint: SHA-256 of its text (the note up to its signatures). Throws on a bad signature. */
    const open = (note: string): Claim => {
      const cp = openCheckpoint(note, [newVerifier(vkey)], origin).checkpoint;
      const text = note.slice(0, note.indexOf("\n\n") + 1);
      return { id: createHash("sha256").update(text).digest("hex"), origin: cp.origin, size: cp.size };
    };
    const assert = (note: string, at: number) => {
      const c = open(note);
      if (claims.has(c.id)) return { claim: claims.get(c.id)!, added: false };
      window.assert(c.id, at);
      const claim = { ...c, at };
      claims.set(c.id, claim);
      return { claim, added: true };
    };
    /** Decide a proof against its checkpoint's claim at `at`: the verdict, kept when fraud is proven. */
    const challenge = (proof: FraudProof, at: number) => {
      let c: Claim;
      try {
        c = open(proof.checkpoint);
      } catch (e) {
        return { error: new HttpError(422, "fraud not proven", `the proof's checkpoint: ${(e as Error).message}`) };
      }
      const claim = claims.get(c.id);
      if (claim === undefined) return { error: new HttpError(404, "no such claim", `checkpoint ${c.origin} size ${c.size} was never asserted here`) };
      try {
        window.challenge(claim.id, at);
      } catch (e) {
        if (e instanceof FraudInputError) return { error: new HttpError(409, "claim decided", e.message) };
        throw e;
      }
      let v: ReturnType<typeof checkFraudProof>;
      try {
        v = config.machine === "escrow" ? checkEscrowFraudProof(proof as EscrowFraudProof, vkey, origin) : checkFraudProof(proof, vkey, origin);
      } catch (e) {
        v = { fraud: false, reason: `malformed proof (${(e as Error).message})` };
      }
      const outcome = { winner: v.fraud ? ("challenger" as const) : ("asserter" as const), step: v.fraud ? v.index : 0, reason: v.reason, rounds: [] };
      window.settle(claim.id, outcome);
      if (!v.fraud) return { error: new HttpError(422, "fraud not proven", v.reason) };
      claim.fraud ??= { index: v.index, reason: v.reason };
      return { claim };
    };
    const view = (c: Claim & { at: number }) => ({
      id: c.id,
      origin: c.origin,
      size: c.size,
      status: window.status(c.id, clock.now()),
      closesAt: c.at + config.windowMs,
      ...(c.fraud && { fraud: c.fraud }),
    });

    if (file) {
      mkdirSync(config.data!, { recursive: true });
      if (existsSync(file))
        readFileSync(file, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .forEach((line, i) => {
            try {
              const r = CourtRecord.parse(JSON.parse(line));
              if (r.type === "assert") assert(r.checkpoint, r.at);
              else {
                const out = challenge(r.proof as FraudProof, r.at);
                if (out.error) throw out.error;
              }
            } catch (e) {
              throw new ConfigFileError(file, [`line ${i + 1}: ${(e as Error).message}`]);
            }
          });
    }
    const record = (r: z.input<typeof CourtRecord>) => file && appendFileSync(file, `${JSON.stringify(r)}\n`);

    return {
      routes(app) {
        app.post("/v1/fraud/claims", { config: { auth: "public" } }, async (req, reply) => {
          const { checkpoint } = parseInput(ClaimJson, req.body, "body");
          const at = clock.now();
          let out;
          try {
            out = assert(checkpoint, at);
          } catch (e) {
            throw new HttpError(400, "checkpoint refused", (e as Error).message);
          }
          if (out.added) record({ type: "assert", at, checkpoint });
          return reply.code(out.added ? 201 : 200).send(view(out.claim));
        });
        app.get("/v1/fraud/claims/:id", { config: { auth: "public" } }, async (req) => {
          const { id } = parseInput(z.object({ id: z.string().regex(/^[0-9a-f]{64}$/, "a claim id (64 hex digits)") }).strict(), req.params, "path");
          const claim = claims.get(id);
          if (claim === undefined) throw new HttpError(404, "no such claim", `no checkpoint with id ${id} was asserted here`);
          return view(claim);
        });
        app.post("/v1/fraud/proofs", { config: { auth: "public" }, bodyLimit: 1 << 20 }, async (req) => {
          const proof = parseInput(FraudProofJson, req.body, "body") as FraudProof;
          const at = clock.now();
          const out = challenge(proof, at);
          if (out.error) throw out.error;
          record({ type: "fraud", at, proof });
          return view(claims.get(out.claim.id)!);
        });
      },
    };
  },
});
