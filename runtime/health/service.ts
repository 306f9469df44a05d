/**
 * `meridian health serve --config FILE`: the regional health aggregator behind the gateway. For each
 * signal of its config it serves `/signals/<name>` (the gateway rewrites the public path, e.g.
 * `/healthz/escrow`, to it; the kit's own `/healthz` stays the aggregator's liveness), probing the services' own `/readyz` on every request
 * (in parallel, bounded by `probeTimeoutMs`) and answering 200 or 503 with each probe's verdict, so the
 * DNS providers' checks see exactly what the services report. The config file is the one the gateway
 * component renders from model/workloads/gateway.ts.
 */
import { z } from "zod";
import { defineService } from "../kit/index.js";
import { verdict, type ProbeResult } from "./core.js";

export const healthConfigSchema = z
  .object({
    region: z.string().min(1),
    probeTimeoutMs: z.number().int().positive().max(30_000).default(2000),
    signals: z
      .array(
        z
          .object({
            name: z.string().min(1),
            /** The public path the DNS providers probe (the gateway routes it here). */
            path: z.string().startsWith("/"),
            probes: z.array(z.object({ name: z.string().min(1), url: z.url() }).strict()),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
export type HealthConfig = z.output<typeof healthConfigSchema>;

/** Where the aggregator answers a signal; the gateway rewrites the signal's public path to it. */
export function signalPath(name: string): string {
  return `/signals/${encodeURIComponent(name)}`;
}

async function probe(name: string, url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = res.ok ? undefined : (await res.text()).slice(0, 200);
    return { name, status: res.status, ...(body ? { detail: body } : {}) };
  } catch (err) {
    return { name, status: null, detail: err instanceof Error ? err.message : String(err) };
  }
}

export const healthService = defineService({
  name: "health",
  config: healthConfigSchema,
  start({ config }) {
    return {
      routes(app) {
        for (const signal of config.signals) {
          app.get(signalPath(signal.name), { config: { auth: "public" } }, async (_req, reply) => {
            const results = await Promise.all(signal.probes.map((p) => probe(p.name, p.url, config.probeTimeoutMs)));
            const v = verdict(signal.name, results);
            return reply.code(v.healthy ? 200 : 503).send({ region: config.region, ...v });
          });
        }
      },
    };
  },
});
