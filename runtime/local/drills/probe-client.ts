/**
 * The fault drills' client of a region's public address (fault.ts): loops that each open a new connection per request,
 * as a fresh client does, recording every request's outcome — answered (even late), failed, or still open.
 */
import http from "node:http";
import type { Tally } from "./fault.js";

export interface Sample {
  atMs: number;
  /** The HTTP status; null while unanswered (and for good once the connection failed or the client stopped). */
  status: number | null;
  state?: string;
  /** When its answer arrived (a state read by the region at some moment between atMs and this). */
  answeredAtMs?: number;
  /** Answered, failed, or still open past the client's patience. */
  settled: boolean;
}

/**
 * One GET on a new connection (no keep-alive: a lost connection is a new one the proxy may drop), recorded in
 * `sample`. Resolves once answered or failed, or after `patienceMs` — the loop then moves on, but the request
 * stays open in `open` and is recorded if its answer still comes: a slow answer (a loaded machine) is not a lost
 * connection; one the proxy black-holed never answers. The client's stop() ends whatever is still open: lost.
 */
function getOnce(url: string, patienceMs: number, sample: Sample, open: Set<http.ClientRequest>): Promise<void> {
  return new Promise((resolve) => {
    const settle = () => {
      sample.settled = true;
      clearTimeout(patience);
      open.delete(req);
      resolve();
    };
    const req = http.get(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        sample.status = res.statusCode ?? 0;
        sample.answeredAtMs = Date.now();
        try {
          const state = (JSON.parse(body) as { state?: string }).state;
          if (state) sample.state = state;
        } catch {
          // Not JSON: no clock state to read.
        }
        settle();
      });
      res.on("error", settle);
    });
    open.add(req);
    req.on("error", settle);
    const patience = setTimeout(() => {
      sample.settled = true;
      resolve();
    }, patienceMs);
  });
}

/** The client's loops (each opens a new connection per request, one request at a time). */
export const CLIENT_LOOPS = 8;

/** A client of the region's public address: `workers` loops, each request on a new connection. */
export function startClient(url: string, patienceMs: number, workers = CLIENT_LOOPS): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  const open = new Set<http.ClientRequest>();
  let running = true;
  const loop = async () => {
    while (running) {
      const sample: Sample = { atMs: Date.now(), status: null, settled: false };
      samples.push(sample);
      await getOnce(url, patienceMs, sample, open);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    samples,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      for (const req of open) req.destroy();
      open.clear();
    },
  };
}

export const tally = (samples: Sample[]): Tally => ({
  requests: samples.length,
  answered: samples.filter((s) => s.status !== null).length,
  ok: samples.filter((s) => s.status !== null && s.status >= 200 && s.status < 300).length,
});
