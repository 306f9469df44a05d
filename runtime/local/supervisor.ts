/**
 * The region-process supervisor of `meridian local`: each region runs as its own OS process on its own
 * loopback address (127.0.1.<n>), so a drill can kill -9 one region and the rest carry on — as a real
 * regional outage would look to the GSLB.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const MERIDIAN_BIN = fileURLToPath(new URL("../../bin/meridian.mjs", import.meta.url));

export interface RegionProcessSpec {
  regionId: string;
  host: string;
  port: number;
  skewMs: number;
  stack: string;
  /** `host:port` of the estate's NTP grandmaster. */
  grandmaster?: string;
  redisUrl?: string;
  postgresUrl?: string;
}

export interface RegionProcess {
  spec: RegionProcessSpec;
  url: string;
  pid: number;
  child: ChildProcess;
}

/** The loopback address region number `index` (0-based) listens on. */
export function regionAddress(index: number): string {
  return `127.0.1.${index + 1}`;
}

export class Supervisor {
  private readonly processes = new Map<string, RegionProcess>();
  private stopping = false;

  async start(spec: RegionProcessSpec): Promise<RegionProcess> {
    const args = [MERIDIAN_BIN, "local-region", "--stack", spec.stack, "--region", spec.regionId, "--host", spec.host, "--port", String(spec.port), "--skew-ms", String(spec.skewMs)];
    if (spec.grandmaster) args.push("--grandmaster", spec.grandmaster);
    if (spec.redisUrl) args.push("--redis", spec.redisUrl);
    if (spec.postgresUrl) args.push("--postgres", spec.postgresUrl);
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const stderr: string[] = [];
    child.stderr?.on("data", (d: Buffer) => stderr.push(d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        try {
          const event = JSON.parse(line) as { event?: string; url?: string };
          if (event.event === "listening" && event.url) resolve(event.url);
        } catch {
          // Not an event line: ignore (services may log).
        }
      });
      child.once("exit", (code, signal) => reject(new Error(`region ${spec.regionId} exited before listening (code ${code}, signal ${signal}): ${stderr.join("").trim()}`)));
    });
    // A restart must come back on the same address and port, so keep the port the OS chose.
    const proc: RegionProcess = { spec: { ...spec, port: Number(new URL(url).port) }, url, pid: child.pid!, child };
    this.processes.set(spec.regionId, proc);
    return proc;
  }

  get(regionId: string): RegionProcess | undefined {
    return this.processes.get(regionId);
  }

  running(): RegionProcess[] {
    return [...this.processes.values()].filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  }

  /** Kill a region's process the hard way (SIGKILL): no graceful shutdown, as in an outage. */
  async kill(regionId: string): Promise<void> {
    const proc = this.processes.get(regionId);
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.child.once("exit", resolve));
    proc.child.kill("SIGKILL");
    await exited;
  }

  async restart(regionId: string): Promise<RegionProcess> {
    const proc = this.processes.get(regionId);
    if (!proc) throw new Error(`unknown region ${regionId}`);
    await this.kill(regionId);
    return this.start(proc.spec);
  }

  async stopAll(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(
      [...this.processes.values()].map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        const exited = new Promise((resolve) => p.child.once("exit", resolve));
        p.child.kill("SIGTERM");
        const timer = setTimeout(() => p.child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
