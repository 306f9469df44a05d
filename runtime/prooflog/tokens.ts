/**
 * Read-your-writes for the log (§12.3.3). `POST /add` answers a consistency token — the log's HLC after the
 * entry is durable, with its epoch (`<wall>.<logical>[@epoch]`, as escrow's) — and remembers the tree size the
 * entry needs. A read that sends the token is answered from a state that includes the write: `GET /checkpoint`
 * waits (up to `waitMs`) for a published checkpoint that covers every entry acknowledged at or before the
 * token, and answers 503 `checkpoint behind token` if none is signed in time. Tokens from another epoch are
 * refused 409 before any route runs (runtime/clock/http.ts), and one further ahead than max offset 409
 * `untrustworthy HLC timestamp`.
 *
 * Only sizes beyond the published checkpoint are remembered: a token older than every remembered write
 * needs nothing beyond what is already published (checkpoints only grow).
 */
import { compare, formatToken, parseToken, type ClockNode, type Timestamp } from "../clock/index.js";

export class AppendTokens {
  /** (HLC at acknowledgement, tree size that covers the entry), in HLC order. */
  private readonly pending: { at: Timestamp; size: number }[] = [];

  constructor(
    private readonly node: ClockNode,
    private readonly published: () => number,
  ) {}

  /** The token for an entry acknowledged as durable, which a checkpoint of `size` covers. */
  issue(size: number): string {
    this.prune();
    const at = this.node.hlc.now();
    this.pending.push({ at, size });
    return formatToken(at, this.node.epoch.epoch, this.node.requireEpoch);
  }

  /** The tree size a read with this token must reflect (0: anything published will do). */
  required(token: string): number {
    this.prune();
    const { timestamp } = parseToken(token);
    let size = 0;
    for (const p of this.pending) {
      if (compare(p.at, timestamp) > 0) break;
      size = Math.max(size, p.size);
    }
    return size;
  }

  private prune(): void {
    const covered = this.published();
    while (this.pending.length > 0 && this.pending[0]!.size <= covered) this.pending.shift();
  }
}
