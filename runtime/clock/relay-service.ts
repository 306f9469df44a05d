/**
 * The grandmaster as a relay on the service kit (`meridian time relay`): NTP on UDP (the `ntp` listener),
 * serving the time a majority of its references agree on (relay.ts), and GET /status, /healthz, /readyz and
 * /metrics on HTTP. Ready only while a majority agrees; otherwise it still answers NTP, with leap 3 and
 * stratum 16, so no client follows it.
 */
import { z } from "zod";
import { defineService } from "../kit/index.js";
import { preciseSystemClock } from "./grandmaster.js";
import { hostPort } from "./reference.js";
import { GrandmasterRelay } from "./relay.js";

/** The relay's `--config` (besides the kit's `server` section); the blueprint renders it (components/time/grandmaster.ts). */
export const relayConfigSchema = z
  .object({
    ntp: z
      .object({ host: z.string().min(1).optional(), port: z.number().int().min(0).max(65535).default(123) })
      .strict()
      .prefault({}),
    /** The NTP servers voted over: the cloud's time service, NTS servers, GPS appliances. */
    references: z
      .array(z.object({ name: z.string().min(1).max(64), server: hostPort }).strict())
      .min(1, "give at least one reference (three or more to outvote a falseticker)")
      .refine((rs) => new Set(rs.map((r) => r.name)).size === rs.length, "reference names must be unique"),
    /** Between polls of every reference (ms). */
    pollMs: z.number().int().min(100).max(3_600_000).default(16_000),
  })
  .strict();

export const grandmasterRelayService = defineService({
  name: "grandmaster",
  config: relayConfigSchema,
  async start({ config, server, metrics, log }) {
    const host = config.ntp.host ?? server.host;
    const relay = new GrandmasterRelay({
      references: config.references.map((r) => ({ name: r.name, host: r.server.host, port: r.server.port })),
      clock: preciseSystemClock,
      pollMs: config.pollMs,
      registry: metrics,
    });
    // One vote before serving, so the first client is answered from the references, not from nothing.
    await relay.poll();
    return {
      relay,
      routes: (app) => relay.adminRoutes(app),
      listeners: [{ name: "ntp", scheme: "udp", host, port: config.ntp.port, listen: () => relay.listen(config.ntp.port, host), close: () => relay.close() }],
      ready: { vote: () => relay.current.synchronized || `no majority of the ${config.references.length} references agrees (leap 3, stratum 16)` },
      started: () => {
        relay.start();
        const v = relay.current;
        log.info(
          { synchronized: v.synchronized, stratum: v.stratum, truechimers: v.truechimers, falsetickers: v.falsetickers, unreachable: v.unreachable.map((u) => u.name) },
          "grandmaster relaying NTP",
        );
      },
    };
  },
});
