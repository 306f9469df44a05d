/**
 * Running a service as a process (`meridian <svc> serve --config FILE`): load and validate the config,
 * start, print one machine-readable ready line on stdout, and drain on SIGTERM/SIGINT. A failure to
 * start is one line on stderr and a prompt exit — 2 for a config mistake, 1 for a taken port or an
 * unreachable store — never a stack trace, a retry storm or a hang. Logs are JSON (pino) on stderr.
 */
import pino from "pino";
import type { z } from "zod";
import type { Clock } from "../common/clock.js";
import { ConfigFileError, mergeConfig, readConfigFile } from "./config.js";
import type { ServiceDefinition, ServiceParts } from "./define.js";
import { BindError, StoreUnreachableError } from "./errors.js";
import { defaultTime, type DefaultTime } from "./hlc.js";
import { startService, type RunningService } from "./start.js";

export interface RunOptions {
  /** How the command is named in messages, e.g. `meridian time serve`. */
  command: string;
  /** `--config FILE` (JSON or YAML). */
  configFile?: string;
  /** Values from command-line flags, merged over the file (undefined entries are ignored). */
  overrides?: Record<string, unknown>;
  clock?: Clock;
  /** Default: the process's (`setDefaultTime`, runtime/kit/hlc.ts). */
  time?: DefaultTime;
}

/** The ready line: one JSON object on one stdout line, written once every listener is bound. */
export interface ReadyLine {
  ready: true;
  service: string;
  url: string;
  endpoints: Record<string, string>;
  pid: number;
}

function fail(command: string, message: string, code: number): never {
  process.stderr.write(`${command}: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  // exit() rather than exitCode: a half-open client (a store driver's reconnect timer) must not keep us up.
  process.exit(code);
}

export async function runService<S extends z.ZodType, P extends ServiceParts>(definition: ServiceDefinition<S, P>, options: RunOptions): Promise<RunningService<z.output<S>, P>> {
  let running: RunningService<z.output<S>, P>;
  try {
    const raw = mergeConfig(options.configFile ? readConfigFile(options.configFile) : {}, options.overrides ?? {});
    const level = ((raw["server"] as { log?: { level?: string } } | undefined)?.log?.level ?? "info") as pino.Level;
    const logger = pino({ name: definition.name, level, base: { service: definition.name, pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
    running = await startService(definition, raw, { clock: options.clock, logger, source: options.configFile ?? "(command line)", time: options.time ?? defaultTime() });
  } catch (e) {
    if (e instanceof ConfigFileError) fail(options.command, e.message, 2);
    if (e instanceof BindError || e instanceof StoreUnreachableError) fail(options.command, e.message, 1);
    fail(options.command, `failed to start: ${(e as Error).message ?? String(e)}`, 1);
  }
  const line: ReadyLine = { ready: true, service: running.name, url: running.url, endpoints: running.endpoints, pid: process.pid };
  process.stdout.write(`${JSON.stringify(line)}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal: the operator wants out now.
      process.stderr.write(`${options.command}: ${signal} again, exiting without finishing the drain\n`);
      process.exit(1);
    }
    stopping = true;
    // Bound the whole shutdown: drain, then the stores' close, then out — even if a close hangs.
    const t = running.server.timeouts.drainMs;
    setTimeout(() => fail(options.command, `shutdown exceeded ${2 * t + 1000} ms; exiting`, 1), 2 * t + 1000).unref();
    void running.close().then(
      () => process.exit(0),
      (e: unknown) => fail(options.command, `shutdown failed: ${(e as Error).message}`, 1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return running;
}
