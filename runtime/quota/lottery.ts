/**
 * Lottery scheduling (Waldspurger & Weihl): each client holds tickets; a draw picks a winning ticket
 * uniformly, so a client wins with probability tickets / total — proportional share in expectation,
 * with no state beyond the ticket counts. The random source is injected (seeded in tests), like the
 * clock everywhere else. Compensation tickets: a client that used only a fraction f of its quantum
 * holds tickets / f until it next wins, so short users are not penalised.
 */
import { drawWeighted } from "../../model/random.js";

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
    const pool = (eligible ?? [...this.tickets.keys()]).map((client) => ({ client, weight: (this.tickets.get(client) ?? 0) + (this.compensation.get(client) ?? 0) })).filter((c) => c.weight > 0);
    const winner = drawWeighted(pool, this.random)?.client;
    if (winner !== undefined) this.compensation.delete(winner);
    return winner;
  }
}
