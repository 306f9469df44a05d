/**
 * Start a workload the way its pod would, from what the model renders for it: its ConfigMap's files written where the
 * volume would be mounted (a temp dir stands in for CONFIG_DIR and STATE_DIR), its Secret's files at their mount paths,
 * and its own command line run as a real process — with only what a test cannot provide swapped out: the listen port
 * (ephemeral) and host (loopback), the store URLs the pod gets from secrets (dropped; each test passes its own), and
 * in-cluster addresses (`swap`). Also the plain "start a server process and wait for its URL" that underlies it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CONFIG_DIR, STATE_DIR, type WorkloadSpec } from "../model/workloads/spec.js";
import { MERIDIAN_BIN, REPO_ROOT } from "./cli.js";

interface RenderedLayout {
  /** Where `${CONFIG_DIR}/` goes (the workload's files land in `<configRoot>/<service>/`). */
  configRoot: string;
  /** Where `${STATE_DIR}/` goes. */
  stateRoot: string;
}

interface RenderedOptions {
  /** The ConfigMap's files (default: the workload's own). */
  config?: Record<string, string>;
  /** Rewrite one config file's text before it is written (after the directory remap). */
  editConfig?: (file: string, text: string) => string;
  /** Files of the workload's Secret, written under each of its secret mounts. */
  secrets?: Record<string, string>;
  /** Flags whose value the pod gets from a secret; dropped with their value (default: --postgres, --redis). */
  dropFlags?: readonly string[];
  /** Maps in-cluster addresses in args and files to this machine's. */
  swap?: (s: string) => string;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
}

interface Started {
  child: ChildProcess;
  url: string;
}

/** The server processes a test file started; `killAll()` in its afterAll (or sooner). */
export class ServerProcesses {
  private readonly children: ChildProcess[] = [];

  /** Spawn `command args`; resolves with the URL its ready line names, rejects with its output if it exits first. */
  start(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Started> {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    this.children.push(child);
    return new Promise((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        // The kit's ready line (`{"ready":true,…,"url":"http://…"}`), else the first loopback URL printed.
        const m = /"url":"(http:\/\/[^"]+)"/.exec(out) ?? /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve({ child, url: m[1]! });
      });
      child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      child.on("exit", (code) =>
        reject(
          new Error(
            `${args
              .filter((a) => !a.startsWith("-"))
              .slice(0, 3)
              .join(" ")} exited ${code}: ${err.slice(-2000)}${out.slice(-1000)}`,
          ),
        ),
      );
    });
  }

  /** The workload's own command line from its rendered files, laid out under `layout` (see the module comment). */
  startRendered(w: WorkloadSpec, layout: RenderedLayout, o: RenderedOptions = {}): Promise<Started> {
    const swap = o.swap ?? ((s: string) => s);
    const at = (s: string) => swap(s.split(`${CONFIG_DIR}/`).join(`${layout.configRoot}/`).split(`${STATE_DIR}/`).join(`${layout.stateRoot}/`));
    const mount = join(layout.configRoot, w.service.name);
    mkdirSync(mount, { recursive: true });
    for (const [file, text] of Object.entries(o.config ?? w.config)) writeFileSync(join(mount, file), o.editConfig ? o.editConfig(file, at(text)) : at(text));
    for (const m of w.secretMounts)
      for (const [file, text] of Object.entries(o.secrets ?? {})) {
        const p = at(`${m.mountPath}/${file}`);
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, text, { mode: 0o600 });
      }
    const drop = o.dropFlags ?? ["--postgres", "--redis"];
    const args: string[] = [];
    for (let i = 0; i < w.args.length; i++) {
      const a = w.args[i]!;
      if (drop.includes(a)) i++;
      else if (a === "--port") args.push(a, String((i++, 0)));
      else if (a === "--host") args.push(a, String((i++, "127.0.0.1")));
      else args.push(at(a));
    }
    return this.start(process.execPath, [MERIDIAN_BIN, ...args, ...(o.extra ?? [])], { env: o.env });
  }

  killAll(): void {
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}
