/**
 * The region-process supervisor of `meridian local`: each region runs as its own OS process (so a drill
 * can kill -9 one region and the rest carry on, as in a real regional outage), connected to the
 * supervisor by an IPC channel. The channel is also the region's lifeline: when the supervisor dies,
 * however it dies, the channel closes and the region exits (runtime/local/region-main.ts), so no region
 * outlives it and keeps its ports.
 *
 * Invariants: at most one live process per region (kill, start and restart of a region are serialised;
 * a restart asked for while one is under way joins it); a start either reports the region ready within
 * its timeout or leaves no process behind, and its error carries the region's last output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { TERMINAL_FD_ENV, type RegionStart } from "./region-main.js";

/** The `meridian` command the supervisor spawns its processes with (regions, the proof log). */
export const MERIDIAN_BIN = fileURLToPath(new URL("../../bin/meridian.mjs", import.meta.url));

export interface RegionProcessSpec {
  regionId: string;
  /** The region process's private address (the proxy in front of it owns the public one). */
  host: string;
  skewMs: number;
  stack: string;
  /** What else the region starts with (stores, grandmaster, share), sent once its process has loaded. */
  options: RegionStart["options"];
  /** Its credentials, sent with them (off the process list). */
  env?: Record<string, string>;
}

/** Who a region process is: what it is spawned with (its configuration comes once it has loaded). */
type RegionIdentity = Pick<RegionProcessSpec, "regionId" | "host" | "stack">;

/** A region process spawned, loading or loaded, not yet told what to start. */
interface Spawned {
  child: ChildProcess;
  lines: string[];
  /** Resolves when the process listens on its IPC channel (it has loaded its code). */
  loaded: Promise<void>;
}

/** What a region process reports on its IPC channel once it listens. */
export interface RegionReady {
  event: "ready";
  region: string;
  url: string;
  port: number;
}

export interface RegionProcess {
  spec: RegionProcessSpec;
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  startedAtMs: number;
}

export interface SupervisorOptions {
  /** Every line a region prints (stdout or stderr), as it prints it. */
  onOutput?(region: string, line: string): void;
  /** A region process ended without being asked to (crash, killed from outside). */
  onUnexpectedExit?(region: string, detail: string): void;
  startTimeoutMs?: number;
}

/** A region process that could not start: its message carries the region's last output. */
export class RegionStartError extends Error {
  override name = "RegionStartError";
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

export class Supervisor {
  private readonly processes = new Map<string, RegionProcess>();
  private readonly specs = new Map<string, RegionProcessSpec>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly restarts = new Map<string, Promise<RegionProcess>>();
  private readonly expectedExit = new WeakSet<ChildProcess>();
  private readonly output = new Map<string, string[]>();
  /** Every process spawned and not yet exited, ready or still starting. */
  private readonly children = new Set<ChildProcess>();
  /** Processes spawned ahead of their region's start (`prepare`). */
  private readonly prepared = new Map<string, Spawned>();
  private stopping = false;

  constructor(private readonly options: SupervisorOptions = {}) {}

  /** One region operation at a time, in order. */
  private serial<T>(regionId: string, op: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(regionId) ?? Promise.resolve()).then(op, op);
    this.queues.set(
      regionId,
      next.catch(() => undefined),
    );
    return next;
  }

  /** The region's last lines of output (for error messages and the dashboard). */
  lastOutput(regionId: string): string[] {
    return this.output.get(regionId) ?? [];
  }

  start(spec: RegionProcessSpec): Promise<RegionProcess> {
    this.specs.set(spec.regionId, spec);
    return this.serial(spec.regionId, () => this.spawnRegion(spec));
  }

  /**
   * Spawn a region's process ahead of its start: it loads its code (a second or more of a cold Node process) while
   * the estate-wide services it needs start; `start` then hands it its configuration. Stopped by `stopAll` like any.
   */
  prepare(identity: RegionIdentity): void {
    if (this.stopping || this.prepared.has(identity.regionId)) return;
    this.prepared.set(identity.regionId, this.spawnProcess(identity));
  }

  private spawnProcess(identity: RegionIdentity): Spawned {
    const args = [MERIDIAN_BIN, "local-region", "--stack", identity.stack, "--region", identity.regionId, "--host", identity.host];
    // fd 4 is the supervisor's own stderr: if the supervisor dies (kill -9), its pipes die with it, and a
    // region still tells the user's terminal why it is stopping.
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe", "ipc", 2], env: { ...process.env, [TERMINAL_FD_ENV]: "4" } });
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    const lines: string[] = [];
    this.output.set(identity.regionId, lines);
    const onLine = (line: string) => {
      lines.push(line);
      if (lines.length > 50) lines.shift();
      this.options.onOutput?.(identity.regionId, line);
    };
    createInterface({ input: child.stdout! }).on("line", onLine);
    createInterface({ input: child.stderr! }).on("line", onLine);
    const loaded = new Promise<void>((resolve) => child.on("message", (m: { event?: string }) => m?.event === "loaded" && resolve()));
    return { child, lines, loaded };
  }

  private async spawnRegion(spec: RegionProcessSpec): Promise<RegionProcess> {
    if (this.stopping) throw new Error(`the estate is stopping; not starting region ${spec.regionId}`);
    const running = this.processes.get(spec.regionId);
    if (running && alive(running.child)) return running;
    const prepared = this.prepared.get(spec.regionId);
    this.prepared.delete(spec.regionId);
    const { child, lines, loaded } = prepared && alive(prepared.child) ? prepared : this.spawnProcess(spec);
    this.output.set(spec.regionId, lines);
    const timeoutMs = this.options.startTimeoutMs ?? 90_000;
    const startedAtMs = Date.now();
    const ready = await new Promise<RegionReady>((resolve, reject) => {
      const tail = () => (lines.length ? `; its last output:\n  ${lines.slice(-10).join("\n  ")}` : "");
      const timer = setTimeout(() => {
        this.expectedExit.add(child);
        child.kill("SIGKILL");
        reject(new RegionStartError(`region ${spec.regionId} did not become ready within ${timeoutMs / 1000} s${tail()}`));
      }, timeoutMs);
      child.on("message", (m: RegionReady) => {
        if (m?.event !== "ready") return;
        clearTimeout(timer);
        resolve(m);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        // Let the last stderr lines arrive before quoting them.
        setImmediate(() => reject(new RegionStartError(`region ${spec.regionId} exited before it was ready (${signal ?? `exit code ${code}`})${tail()}`)));
      });
      const start: RegionStart = { event: "start", skewMs: spec.skewMs, options: spec.options, env: spec.env ?? {} };
      void loaded.then(() => child.connected && child.send(start, () => undefined));
    });
    const proc: RegionProcess = { spec, url: ready.url, port: ready.port, pid: child.pid!, child, startedAtMs };
    this.processes.set(spec.regionId, proc);
    child.once("exit", (code, signal) => {
      if (this.expectedExit.has(child) || this.stopping) return;
      this.options.onUnexpectedExit?.(spec.regionId, `${signal ?? `exit code ${code}`}${lines.length ? `: ${lines.at(-1)}` : ""}`);
    });
    return proc;
  }

  get(regionId: string): RegionProcess | undefined {
    return this.processes.get(regionId);
  }

  isRunning(regionId: string): boolean {
    const p = this.processes.get(regionId);
    return p !== undefined && alive(p.child);
  }

  running(): RegionProcess[] {
    return [...this.processes.values()].filter((p) => alive(p.child));
  }

  /** Kill a region's process the hard way (SIGKILL): no graceful shutdown, as in an outage. */
  kill(regionId: string): Promise<void> {
    return this.serial(regionId, () => this.killNow(regionId, "SIGKILL"));
  }

  private async killNow(regionId: string, signal: NodeJS.Signals, graceMs = 0): Promise<void> {
    const proc = this.processes.get(regionId);
    if (!proc || !alive(proc.child)) return;
    this.expectedExit.add(proc.child);
    const exited = new Promise((resolve) => proc.child.once("exit", resolve));
    proc.child.kill(signal);
    const force = graceMs > 0 ? setTimeout(() => proc.child.kill("SIGKILL"), graceMs) : undefined;
    await exited;
    clearTimeout(force);
  }

  /** Kill and start again; a restart asked for while one is under way joins it (one process, not two). */
  restart(regionId: string): Promise<RegionProcess> {
    const pending = this.restarts.get(regionId);
    if (pending) return pending;
    const spec = this.specs.get(regionId);
    if (!spec) return Promise.reject(new Error(`unknown region ${regionId}`));
    const run = this.serial(regionId, async () => {
      await this.killNow(regionId, "SIGKILL");
      return this.spawnRegion(this.specs.get(regionId)!);
    }).finally(() => this.restarts.delete(regionId));
    this.restarts.set(regionId, run);
    return run;
  }

  /** Send a message to every running region process (fresh credentials). */
  broadcast(message: object): void {
    for (const p of this.running()) if (p.child.connected) p.child.send(message, () => undefined);
  }

  /** What the region starts with next time. */
  nextSpec(regionId: string): RegionProcessSpec | undefined {
    return this.specs.get(regionId);
  }

  /** Change what the region starts with next time (e.g. its current skew). */
  updateSpec(regionId: string, patch: Partial<RegionProcessSpec>): void {
    const spec = this.specs.get(regionId);
    if (spec) this.specs.set(regionId, { ...spec, ...patch });
  }

  /** SIGTERM every region process, starting ones included (graceful drain); SIGKILL what is left after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children].filter(alive).map(async (child) => {
        this.expectedExit.add(child);
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const force = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(force);
      }),
    );
  }
}
