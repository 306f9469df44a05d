/**
 * The Go witness of the escrow's transition log (witness.go, on golang.org/x/mod/sumdb/{note,tlog}), built once per
 * test file in a temporary GOPATH (Debian golang-golang-x-mod-dev, no module proxy), and a test escrow's served
 * checkpoint written where the witness reads it.
 */
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { generateKey } from "../../../../runtime/prooflog/index.js";

const run = promisify(execFile);
const GOCODE = "/usr/share/gocode";

export type ServedCheckpoint = { origin: string; vkey: string; size: number; root: string; checkpoint: string; sealed?: { reason: string; size: number } };

export interface GoWitness {
  /** The temporary directory (checkpoint files and whatever else the test keeps there). */
  dir: string;
  /** The verdict on seeing checkpoint file `a`, then `b` (whose entries and proofs `url` serves): "ok …" lines or a "FAIL …" line. */
  judge(vkey: string, a: string, b: string, url: string): Promise<string>;
  /** GET `url`/v1/transitions/checkpoint, written to `<dir>/<name>.checkpoint`. */
  checkpoint(url: string, name: string): Promise<ServedCheckpoint & { file: string }>;
  /** A new note signer key named `name`, in a file of its own under `dir` (an escrow's transitionsKeyFile): its path. */
  signerKeyFile(name: string): string;
  remove(): void;
}

export function buildGoWitness(): GoWitness {
  const dir = mkdtempSync(join(tmpdir(), "escrow-witness-"));
  const bin = join(dir, "witness");
  mkdirSync(join(dir, "src", "escrowwitness"), { recursive: true });
  copyFileSync(fileURLToPath(new URL("./witness.go", import.meta.url)), join(dir, "src", "escrowwitness", "main.go"));
  execFileSync("go", ["build", "-o", bin, "escrowwitness"], {
    cwd: dir,
    env: { ...process.env, GOPATH: `${dir}:${GOCODE}`, GO111MODULE: "off", GOPROXY: "off", GOFLAGS: "", GOTOOLCHAIN: "local", GOCACHE: join(dir, "gocache") },
    stdio: "pipe",
  });
  return {
    dir,
    async judge(vkey, a, b, url) {
      try {
        return (await run(bin, [vkey, a, b, url])).stdout;
      } catch (e) {
        return (e as { stdout: string }).stdout;
      }
    },
    async checkpoint(url, name) {
      const served = (await (await fetch(`${url}/v1/transitions/checkpoint`)).json()) as ServedCheckpoint;
      const file = join(dir, `${name}.checkpoint`);
      writeFileSync(file, served.checkpoint);
      return { ...served, file };
    },
    signerKeyFile(name) {
      const file = join(dir, "transitions.key");
      writeFileSync(file, `${generateKey(name).signerKey}\n`);
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
