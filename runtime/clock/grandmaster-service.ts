/**
 * The grandmaster as a kit service (`meridian time grandmaster`): the simulated ensemble served as a
 * stratum-1 NTPv4 server on UDP (the `ntp` listener), with the admin API — status, metrics, operator-only
 * drills — on the kit's HTTP listener. Ready while the ensemble is synchronised (a majority of sources
 * agree); in holdover it still serves, as a real grandmaster does, and says so on /status.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigFileError, defineService } from "../kit/index.js";
import { Grandmaster } from "./grandmaster.js";
import { parseScenario, ScenarioError, type Scenario } from "./scenario.js";

const grandmasterConfigSchema = z
  .object({
    /** NTP listener; the host defaults to the HTTP listener's. 123 needs privileges. */
    ntp: z
      .object({ host: z.string().min(1).optional(), port: z.number().int().min(0).max(65535).default(123) })
      .strict()
      .prefault({}),
    /** Serve time wrong by this many ms (drills and tests). */
    offsetMs: z.number().min(-86_400_000).max(86_400_000).default(0),
    source: z.enum(["gps", "rubidium", "cesium"]).default("gps"),
    /** Serve leap-smeared time (never mix with unsmeared sources). */
    smear: z.boolean().default(false),
    /** A YAML/JSON file of GPS faults, ε inflation and leap seconds. */
    scenario: z.string().min(1).optional(),
    seed: z.number().int().default(1),
  })
  .strict();

function readScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigFileError(path, [`scenario: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  try {
    return parseScenario(text, path);
  } catch (e) {
    if (e instanceof ScenarioError) throw new ConfigFileError(path, [e.message]);
    throw e;
  }
}

export const grandmasterService = defineService({
  name: "grandmaster",
  config: grandmasterConfigSchema,
  start({ config, server, metrics, log }) {
    const scenario = config.scenario === undefined ? undefined : readScenario(config.scenario);
    const gm = new Grandmaster({ offsetMs: config.offsetMs, primary: config.source, smear: config.smear, scenario, seed: config.seed, registry: metrics });
    const host = config.ntp.host ?? server.host;
    return {
      grandmaster: gm,
      routes: (app) => gm.adminRoutes(app),
      listeners: [{ name: "ntp", scheme: "udp", host, port: config.ntp.port, listen: async () => (await gm.listen(config.ntp.port, host)).ntp, close: () => gm.close() }],
      ready: { ensemble: () => gm.sample().synchronized || "no majority of time sources agrees (leap 3, stratum 16)" },
      started: () => {
        const s = gm.sample();
        log.info({ stratum: 1, offsetMs: config.offsetMs, epsilonMs: s.epsilonMs, smeared: gm.ensemble.smeared, source: config.source }, "grandmaster serving NTP");
      },
    };
  },
});
