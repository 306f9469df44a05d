/**
 * The log monitor as a kit service (`meridian log monitor`): it follows one log from the outside and trusts
 * nothing the log computed.
 *
 * - Tails: every interval it fetches the checkpoint, checks it under the policy (log signature, witness
 *   quorum), moves its light client forward only along consistency proofs built from tlog-tiles, and reads the
 *   new entries' bundles into its own compact range, whose root must come out as the signed one: every entry
 *   of the log is checked, with O(log n) memory.
 * - Gossips: it serves its latest verified checkpoint (`GET /v1/checkpoint`), accepts checkpoints from peers and
 *   clients (`POST /v1/gossip`), and pushes its own to its peers; it also reads each witness's monitoring
 *   endpoint. Every checkpoint seen goes through the fork detector.
 * - Publishes equivocation evidence (`GET /v1/evidence`): two log-signed checkpoints for one size with
 *   different roots — nothing short of that is reported, so it cannot be made to cry wolf.
 * - Reports on /metrics: the verified checkpoint's size and age (from the checkpoint's own signed time when the log
 *   commit-waits one, else from when this monitor verified it; from start while it has verified none), and every
 *   equivocation it holds evidence of — what the estate's alerts fire on (model/workloads/alerts.ts).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { Counter, Gauge } from "prom-client";
import { z } from "zod";
import { ConfigFileError, defineService, HttpError } from "../../kit/index.js";
import { writeFileDurably } from "../../common/durable-file.js";
import { readJsonFile } from "../../common/json-file.js";
import type { Checkpoint } from "../checkpoint.js";
import { checkpointTimeOf } from "../commit-wait.js";
import { CompactRange } from "../compact.js";
import { LightClient, ForkError } from "../lightclient.js";
import { parsePolicy, verifyWithPolicy } from "../policy.js";
import { leafHash, hashEquals, toBase64 } from "../rfc6962.js";
import { decodeEntryBundle, TILE_WIDTH, tilePath } from "../tiles.js";
import { httpTileFetcher, TileProofs } from "../tileclient.js";
import { ForkDetector, verifyEquivocation, type Equivocation } from "../witness/quorum.js";
import type { ThresholdGroup } from "../witness/threshold.js";

const monitorConfigSchema = z
  .object({
    /** Base URL of the log (tlog-tiles). */
    log: z.string().url(),
    /** C2SP tlog-policy text: the log's key, the witnesses and the quorum a checkpoint must meet. */
    policy: z.string().min(1),
    /** Other monitors to gossip checkpoints with (their base URLs). */
    peers: z.array(z.string().url()).default([]),
    intervalMs: z.number().int().positive().default(5000),
    /**
     * Where the evidence and the last verified checkpoint outlive the process (a file on the pod's own volume).
     * Without it a restarted monitor forgets the evidence its alert fires on, and trusts whatever tree the log
     * serves next — a log that forked or rolled back while the monitor was down would pass unnoticed.
     */
    stateFile: z.string().min(1).optional(),
    /**
     * Threshold mode, as the log is deployed with it (`witnessThreshold`): every checkpoint must also carry the
     * witnesses' combined signature under this group key (`group`: the group.json of `meridian tbls dkg`).
     */
    threshold: z
      .object({ name: z.string().regex(/^[^\s+]+$/, "a note key name: no spaces or '+'"), group: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

const stateSchema = z
  .object({
    checkpoint: z.string().nullable(),
    evidence: z.array(z.object({ origin: z.string(), size: z.number().int().nonnegative(), notes: z.tuple([z.string(), z.string()]) }).strict()),
  })
  .strict();

/** The state file, or nothing kept yet; a file that is not the monitor's state stops the start, naming it. */
function readState(file: string): z.infer<typeof stateSchema> {
  if (!existsSync(file)) return { checkpoint: null, evidence: [] };
  return readJsonFile(file, "the log monitor's state", stateSchema, (m) => new ConfigFileError(file, [m]));
}

export const monitorService = defineService({
  name: "monitor",
  config: monitorConfigSchema,
  async start({ config, log, clock, metrics }) {
    const policy = parsePolicy(config.policy, "monitor policy");
    if (policy.logs.length !== 1) throw new HttpError(500, "bad policy", "the monitor follows exactly one log: list one `log` line");
    const logVerifier = policy.logs[0]!.verifier;
    const origin = logVerifier.name;
    const base = config.log.replace(/\/+$/, "");
    const fetchTile = httpTileFetcher(base);
    const light = new LightClient({ origin, logVerifiers: [logVerifier], fetchConsistency: (a, b) => new TileProofs(fetchTile, b).consistencyProof(a) });
    let range = CompactRange.empty();
    const detector = new ForkDetector([logVerifier], origin);
    const evidence: Equivocation[] = [];
    // The last checkpoint a whole round verified (the light client moves first, before its entries are read).
    const state = { note: null as string | null, verified: null as Checkpoint | null, entries: 0, lastError: null as string | null, verifiedAt: clock.now() };
    let threshold: ThresholdGroup | null = null;
    let verifyThreshold: ((note: string) => void) | null = null;
    if (config.threshold) {
      const { readGroup } = await import("../../tbls/index.js"); // BLS loads only in threshold mode
      const { verifyThresholdCheckpoint } = await import("../witness/threshold.js");
      const group: ThresholdGroup = { ...readGroup(config.threshold.group), name: config.threshold.name };
      threshold = group;
      verifyThreshold = (note) => void verifyThresholdCheckpoint(note, [logVerifier], group, origin);
    }
    const registers = [metrics];
    new Gauge({
      name: "meridian_monitor_checkpoint_size",
      help: "Size of the log's latest checkpoint this monitor verified (signature, witness policy, consistency, every entry)",
      registers,
      collect() {
        this.set(state.verified?.size ?? 0);
      },
    });
    new Gauge({
      name: "meridian_monitor_checkpoint_age_seconds",
      help: "Seconds since the verified checkpoint was signed (its commit-wait time), else since it was verified; since start while none is",
      registers,
      collect() {
        const signed = state.verified ? checkpointTimeOf(state.verified) : null;
        this.set(Math.max(0, (clock.now() - (signed ?? state.verifiedAt)) / 1000));
      },
    });
    const equivocations = new Counter({ name: "meridian_monitor_equivocations_total", help: "Sizes at which this monitor holds two log-signed checkpoints with different roots", registers });

    const saved = config.stateFile ? readState(config.stateFile) : { checkpoint: null, evidence: [] };
    const save = () => {
      if (config.stateFile) writeFileDurably(config.stateFile, `${JSON.stringify({ checkpoint: light.note, evidence }, null, 2)}\n`);
    };
    let restoring = true;
    const observe = (note: string, from: string): Equivocation | null => {
      const e = detector.observe(note);
      if (e && !evidence.some((x) => x.size === e.size)) {
        evidence.push(e);
        equivocations.inc();
        log.error({ evidence: e, from }, `EQUIVOCATION by ${origin} at size ${e.size}`);
        if (!restoring) save();
      }
      return e;
    };
    // The last verified checkpoint: the log must extend it (the light client refuses a smaller or inconsistent tree).
    // Its entries are read again in the first round, so the compact range is rebuilt from the log's own tiles.
    if (saved.checkpoint !== null) {
      try {
        verifyWithPolicy(saved.checkpoint, policy, origin);
        verifyThreshold?.(saved.checkpoint);
        await light.update(saved.checkpoint);
      } catch (e) {
        throw new ConfigFileError(config.stateFile!, [`the kept checkpoint does not verify under the policy: ${(e as Error).message}`]);
      }
      observe(saved.checkpoint, "state file"); // the fork detector knows its root for that size again
    }
    // Kept evidence is re-checked (two log-signed roots for one size), never taken on trust from the file.
    for (const e of saved.evidence) {
      if (e.origin !== origin || !verifyEquivocation(e, [logVerifier]))
        throw new ConfigFileError(config.stateFile!, [`evidence at size ${e.size} is not two checkpoints signed by ${origin}'s key for one size`]);
      for (const n of e.notes) observe(n, "state file");
    }
    restoring = false;

    /** Read entries [range.size, size) into the compact range; its root must be the signed one. */
    const tail = async (size: number, root: Uint8Array) => {
      const next = CompactRange.fromSubtrees(range.size, range.subtrees());
      for (let n = Math.floor(next.size / TILE_WIDTH); n * TILE_WIDTH < size; n++) {
        const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
        const bundle = decodeEntryBundle(await fetchTile(tilePath({ level: "entries", index: n, width })));
        if (bundle.length !== width) throw new Error(`entry bundle ${n} holds ${bundle.length} entries; expected ${width}`);
        for (const e of bundle.slice(next.size - n * TILE_WIDTH)) next.append(leafHash(e));
      }
      if (!hashEquals(next.root(), root)) throw new Error(`the log's entries hash to ${toBase64(next.root())}, not its signed root ${toBase64(root)} at size ${size}`);
      range = next;
    };

    const poll = async () => {
      try {
        const res = await fetch(`${base}/checkpoint`, { signal: AbortSignal.timeout(config.intervalMs) });
        const note = await res.text();
        if (!res.ok) throw new Error(`GET ${base}/checkpoint: HTTP ${res.status}`);
        // The note this monitor last verified, byte for byte, verifies again under the same policy: its signatures
        // (a BLS pairing for the witnesses' group) are checked once, not every round the log has nothing new.
        if (note !== state.note) {
          verifyWithPolicy(note, policy, origin);
          verifyThreshold?.(note);
        }
        observe(note, "log");
        const prev = light.checkpoint?.size ?? 0;
        const cp = await light.update(note); // consistency from tiles, or a ForkError with evidence
        if (cp.size > prev || range.size < cp.size) {
          await tail(cp.size, cp.root);
          state.entries = range.size;
        }
        state.note = note;
        state.verified = cp;
        state.verifiedAt = clock.now();
        state.lastError = null;
        if (cp.size > prev) save();
        for (const w of policy.witnesses.values()) {
          if (!w.url) continue;
          const r = await fetch(`${w.url.replace(/\/+$/, "")}/${createHash("sha256").update(origin).digest("hex")}/checkpoint`, { signal: AbortSignal.timeout(config.intervalMs) }).catch(() => null);
          if (r?.ok) observe(await r.text(), `witness ${w.verifier.name}`);
        }
        await Promise.all(config.peers.map((p) => fetch(`${p.replace(/\/+$/, "")}/v1/gossip`, { method: "POST", body: note, signal: AbortSignal.timeout(config.intervalMs) }).catch(() => undefined)));
      } catch (e) {
        if (e instanceof ForkError) observe(e.evidence.notes[1], "log");
        state.lastError = (e as Error).message;
        log.warn({ err: state.lastError }, "monitor round failed");
      }
    };
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<void> = Promise.resolve();

    return {
      evidence,
      poll: () => (running = running.then(poll)),
      routes(app) {
        if (app.hasContentTypeParser("text/plain")) app.removeContentTypeParser("text/plain");
        app.addContentTypeParser("text/plain", { parseAs: "string", bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
        app.get("/v1/checkpoint", { config: { auth: "public" } }, async (_req, reply) => {
          if (!state.note) throw new HttpError(503, "no verified checkpoint yet", state.lastError ?? "the first round has not finished");
          return reply.type("text/plain; charset=utf-8").send(state.note);
        });
        app.get("/v1/status", { config: { auth: "public" } }, async () => ({
          origin,
          ...(threshold && { threshold: `${threshold.name} (${threshold.t} of ${threshold.n})` }),
          size: state.verified?.size ?? null,
          entriesChecked: state.entries,
          lastError: state.lastError,
          equivocations: evidence.length,
        }));
        app.get("/v1/evidence", { config: { auth: "public" } }, async () => evidence);
        app.post("/v1/gossip", { config: { auth: "public" } }, async (req) => {
          const note = typeof req.body === "string" ? req.body : "";
          try {
            verifyWithPolicy(note, { ...policy, quorum: "none" }, origin); // a log signature is enough to be evidence
          } catch (e) {
            throw new HttpError(400, "not a checkpoint of this log", (e as Error).message);
          }
          const e = observe(note, "gossip");
          return { accepted: true, equivocation: e !== null && verifyEquivocation(e, [logVerifier]) };
        });
      },
      started: () => {
        void poll();
        timer = setInterval(() => void (running = running.then(poll)), config.intervalMs);
        timer.unref();
      },
      close: async () => {
        if (timer) clearInterval(timer);
        await running;
      },
    };
  },
});
