/**
 * The nonce book on disk, for `meridian attest nonce` / `verify` run as separate processes: one file per
 * outstanding nonce under `<state>/nonces/`, holding its expiry. Consuming renames it into `<state>/used/`:
 * rename is atomic, so of two verifiers racing on one nonce exactly one sees it fresh. Expired files are
 * removed when nonces are issued.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../../common/clock.js";
import { newNonce, verdict, type NonceStore, type NonceVerdict } from "../core/nonce.js";

export class FileNonceBook implements NonceStore {
  private readonly fresh: string;
  private readonly used: string;
  constructor(
    dir: string,
    private readonly clock: Clock,
  ) {
    this.fresh = join(dir, "nonces");
    this.used = join(dir, "used");
    mkdirSync(this.fresh, { recursive: true, mode: 0o700 });
    mkdirSync(this.used, { recursive: true, mode: 0o700 });
  }

  issue(ttlMs: number): { nonce: string; expiresAt: number } {
    this.prune();
    const nonce = newNonce();
    const expiresAt = this.clock.now() + ttlMs;
    writeFileSync(join(this.fresh, nonce), `${expiresAt}\n`, { flag: "wx", mode: 0o600 });
    return { nonce, expiresAt };
  }

  consume(nonce: string): NonceVerdict {
    const key = nonce.toLowerCase();
    const expiry = (path: string) => Number(readFileSync(path, "utf8").trim());
    try {
      renameSync(join(this.fresh, key), join(this.used, key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      try {
        return verdict({ expiresAt: expiry(join(this.used, key)), used: true }, key, this.clock.now());
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== "ENOENT") throw e2;
        return verdict(undefined, key, this.clock.now());
      }
    }
    return verdict({ expiresAt: expiry(join(this.used, key)), used: false }, key, this.clock.now());
  }

  private prune(): void {
    const now = this.clock.now();
    for (const dir of [this.fresh, this.used]) {
      for (const f of readdirSync(dir)) {
        const path = join(dir, f);
        try {
          if (Number(readFileSync(path, "utf8").trim()) <= now) rmSync(path, { force: true });
        } catch {
          // raced with another process's consume or prune: nothing to do
        }
      }
    }
  }
}
