// What the transition-log thread tests share (transitions-thread.test.ts, transitions-thread-adversarial.test.ts).
import type { Clock } from "../../../../runtime/common/clock.js";
import type { RegionLedger } from "../../../../runtime/escrow/core/ledger.js";
import type { ServedLogSettings } from "../../../../runtime/escrow/transport/transitions-open-served.js";
import { proveEscrow } from "../../../../runtime/fraud/index.js";

/** A log of the `eu` region under `signerKey`, with the default bounds, and `more`. */
export const threadSettings = (signerKey: string, more: Partial<ServedLogSettings> = {}): ServedLogSettings => ({
  base: "meridian-escrow/eu",
  signerKey,
  maxEntries: 1_000_000,
  maxBacklog: 100_000,
  ...more,
});

/** `n` sales on `ledger`: reservations, every other one committed, one in five of the rest cancelled; refunds of the first two sold. */
export function sell(clock: Clock, ledger: RegionLedger, n: number, refund: (id: string) => void): void {
  ledger.credit(3 * n + 10);
  const sold: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = ledger.reserve(`buyer-${i % 7}`, 1 + (i % 3), clock.now())!;
    if (i % 2 === 0) {
      ledger.beginCommit(r.id, clock.now());
      ledger.finishCommit(r.id);
      sold.push(r.id);
    } else if (i % 5 === 1) ledger.release(r.id); // a cancel
  }
  for (const id of sold.slice(0, 2)) refund(id);
}

/** The first transition of `entries` a challenger could prove fraudulent under `cp` (undefined: an honest log). */
export const challenge = (cp: { checkpoint: string; vkey: string }, entries: readonly string[]) =>
  proveEscrow(
    cp.checkpoint,
    entries.map((e) => Buffer.from(e)),
    cp.vkey,
  );
