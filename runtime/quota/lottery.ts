/**
 * Lottery scheduling (Waldspurger & Weihl): each client holds tickets; a draw picks a winning ticket
 * uniformly, so a client wins with probability tickets / total — proportional share in expectation,
 * with no state beyond the ticket counts. The random source is injected (seeded in tests), like the
 * clock everywhere else. Compensation tickets: a client that used only a fraction f of its quantum
 * holds tickets / f until it next wins, so short users are not penalised.
 */

export class Lottery {
  private readonly tickets = new Map<string, number>();
  private readonly compensation = new Map<string, number>();

  constructor(private readonly random: () => number) {}

  setTickets(client: string, tickets: number): void {
    if (!Number.isInteger(tickets) || tickets < 0) throw new RangeError(`tickets of "${client}" is ${tickets}; expected an integer ≥ 0`);
    if (tickets === 0) this.tickets.delete(client);
    else this.tickets.set(client, tickets);
  }

  /** Record that the winner used only `fraction` (0, 1] of its quantum. */
  usedFraction(client: string, fraction: number): void {
    if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`fraction is ${fraction}; expected (0, 1]`);
    const t = this.tickets.get(client) ?? 0;
    if (fraction < 1) this.compensation.set(client, t / fraction - t);
    else this.compensation.delete(client);
  }

  /** Draw a winner among `eligible` (default: every ticket holder); undefined when nobody holds tickets. */
  draw(eligible?: readonly string[]): string | undefined {
    const pool = (eligible ?? [...this.tickets.keys()]).map((c) => [c, (this.tickets.get(c) ?? 0) + (this.compensation.get(c) ?? 0)] as const).filter(([, t]) => t > 0);
    const total = pool.reduce((s, [, t]) => s + t, 0);
    if (total === 0) return undefined;
    let x = this.random() * total;
    for (const [c, t] of pool) {
      if (x < t) {
        this.compensation.delete(c);
        return c;
      }
      x -= t;
    }
    const last = pool[pool.length - 1]![0];
    this.compensation.delete(last);
    return last;
  }
}

/** A small seeded PRNG (mulberry32) for reproducible draws. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
