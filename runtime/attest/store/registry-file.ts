/**
 * The registry in one JSON file, `<dir>/registry.json`: each change is applied and the whole file rewritten to
 * a temporary file, fsynced, renamed over the old one and the directory fsynced — so after a crash (kill -9,
 * power loss) the file is either the state before the change or after it, never torn. Registry changes are
 * rare (enrolments, revocations, one result per attestation) and the registry small, so a rewrite per change is
 * cheap. The directory is locked for one process at a time (common/dir-lock.ts).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { lockDirectory, type DirectoryLock } from "../../common/dir-lock.js";
import { applyChange, emptyRegistry, type Enrolled, type RegistryChange, type RegistryState, type Revoked } from "../core/registry.js";
import type { ClockAnchor } from "../core/timestamp.js";
import { copyRegistry, type RegistryStore } from "./registry-port.js";

const FILE = "registry.json";

interface Doc {
  version: 1;
  enrolled: [string, Enrolled][];
  revoked: [string, Revoked][];
  clocks: [string, ClockAnchor][];
  results: [string, string][];
  logSize: number;
}

export class FileRegistryStore implements RegistryStore {
  readonly description: string;
  private state: RegistryState | null = null;
  private readonly lock: DirectoryLock;

  constructor(private readonly dir: string) {
    this.description = `file ${join(dir, FILE)}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.lock = lockDirectory(dir, "attest.lock", "another attest serve");
  }

  async load(): Promise<RegistryState> {
    let text: string;
    try {
      text = readFileSync(join(this.dir, FILE), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      this.state = emptyRegistry();
      return copyRegistry(this.state);
    }
    let doc: Doc;
    try {
      doc = JSON.parse(text) as Doc;
      if (doc.version !== 1) throw new Error(`version ${String(doc.version)}; expected 1`);
    } catch (e) {
      throw new Error(`${this.description}: not a registry this verifier wrote (${(e as Error).message}); restore it or move it away`, { cause: e });
    }
    this.state = { enrolled: new Map(doc.enrolled), revoked: new Map(doc.revoked), clocks: new Map(doc.clocks), results: new Map(doc.results), logSize: doc.logSize };
    return copyRegistry(this.state);
  }

  async write(change: RegistryChange): Promise<void> {
    const state = this.state ?? (await this.load(), this.state!);
    applyChange(state, change);
    const doc: Doc = { version: 1, enrolled: [...state.enrolled], revoked: [...state.revoked], clocks: [...state.clocks], results: [...state.results], logSize: state.logSize };
    const tmp = join(this.dir, `${FILE}.tmp`);
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, JSON.stringify(doc));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, FILE));
    const d = openSync(this.dir, "r");
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }

  async close(): Promise<void> {
    this.lock.release();
  }
}
