/**
 * The life of a region process (`meridian local-region`, spawned by the supervisor): load, say so and wait for what
 * to start with (the supervisor spawns the processes as the estate-wide services they need start, so their seconds of
 * loading overlap), start the region node, report ready on the IPC channel, and stop — gracefully on SIGTERM, at once
 * when the supervisor is gone. The supervisor's death is seen two ways, whichever comes first: the IPC channel disconnects
 * (the kernel closes it whatever killed the parent, kill -9 included), or the parent pid changes
 * (reparented to init or a subreaper). Ctrl-C in the terminal reaches the whole process group; a region
 * ignores it and lets the supervisor stop it in order.
 */
import { writeSync } from "node:fs";
import type { EstateSpec } from "../../model/estate.js";
import type { EscrowServiceConfig } from "../../model/escrow/config.js";
import type { RegionNode } from "./region.js";

/** Names the fd (the supervisor's own stderr) a region tells when the supervisor is gone and its pipes with it. */
export const TERMINAL_FD_ENV = "MERIDIAN_LOCAL_TERMINAL_FD";

/** Tell the user's terminal directly: the supervisor that relayed our stderr is dead. */
function tellTerminal(line: string): void {
  const fd = Number(process.env[TERMINAL_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    writeSync(fd, line);
  } catch {
    // The terminal is gone too: nobody to tell.
  }
}

/** What a region starts with, sent by the supervisor once the process has loaded (credentials in `env`, off the process list). */
export interface RegionStart {
  event: "start";
  skewMs: number;
  options: {
    /**
     * The estate's spec and this region's escrow config, as the supervisor runs them (a spec adjusted from the stack
     * file's included): the region neither reads the stack nor loads the escrow planner (~150 @stdlib modules) itself.
     */
    spec: EstateSpec;
    escrow: EscrowServiceConfig;
    /** The estate's NTP grandmaster, host:port. */
    grandmaster?: string;
    redis?: string;
    postgres?: string;
    /** The supervisor's shared escrow store. */
    pool?: string;
    /** This region's share of the estate-wide rate limit. */
    requestsPerSecond?: number;
  };
  env: Record<string, string>;
}

export interface RegionLife {
  /** Seconds to finish a graceful stop before exiting anyway. */
  graceMs?: number;
  /** How often to check that the parent is still the one that started us. */
  parentPollMs?: number;
  /** Messages from the supervisor (fresh credentials). */
  onMessage?(message: { event?: string; [k: string]: unknown }): void;
}

export async function runRegionProcess(start: (config: RegionStart) => Promise<RegionNode>, region: string, life: RegionLife = {}): Promise<void> {
  const parent = process.ppid;
  let node: RegionNode | undefined;
  let stopping = false;
  const stop = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    if (reason) process.stderr.write(`region ${region}: ${reason}; stopping\n`);
    if (code !== 0 && reason.startsWith("the supervisor")) tellTerminal(`meridian local: region ${region}: ${reason}; stopping (its ports are free once it exits)\n`);
    const deadline = setTimeout(() => process.exit(code), life.graceMs ?? 3000);
    deadline.unref();
    void (node?.close() ?? Promise.resolve()).catch(() => undefined).finally(() => process.exit(code));
  };
  process.on("SIGINT", () => undefined);
  let configured: (config: RegionStart) => void;
  const config = new Promise<RegionStart>((resolve) => (configured = resolve));
  process.on("message", (m: { event?: string }) => (m?.event === "start" ? configured(m as RegionStart) : life.onMessage?.(m)));
  process.once("SIGTERM", () => stop("", 0));
  process.once("disconnect", () => stop("the supervisor is gone (IPC channel closed)", 1));
  const poll = setInterval(() => {
    if (process.ppid !== parent) stop(`the supervisor (pid ${parent}) is gone`, 1);
  }, life.parentPollMs ?? 500);
  poll.unref();
  if (!process.send || !process.connected) {
    process.stderr.write(`region ${region}: meridian local-region runs under \`meridian local\` only (no IPC channel)\n`);
    process.exit(2);
  }
  // Messages sent before the listener above are lost: the supervisor sends the configuration once it hears this.
  process.send({ event: "loaded" });
  try {
    const c = await config;
    if (stopping) return;
    node = await start(c);
  } catch (err) {
    process.stderr.write(`region ${region}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (stopping) return;
  const port = Number(new URL(node.url).port);
  process.send({ event: "ready", region, url: node.url, port });
}
