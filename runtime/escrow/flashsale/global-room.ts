/**
 * The global waiting room of a scheduled sale (a SKU with `opensAt`; outline §11.1.4), shared by every
 * region: buyers join before or after the open and get a signed queue token holding their score
 * (tranche.ts orders them by the configured policy); every region's process ranks them in the one
 * shared queue store, releases tranches on the clock, and hands an admitted buyer a pass, without which
 * nobody reserves a scheduled SKU. Inside a region, passes go straight past the local checkout gate.
 */
import type { Clock } from "../../common/clock.js";
import { HttpError } from "../../common/http.js";
import type { EscrowConfig } from "../config.js";
import type { QueueTokens } from "../transport/queue-token.js";
import type { QueueStore } from "./queue-store.js";
import { queueScore, standing, type QueueStanding, type TrancheSchedule } from "./tranche.js";

export interface RoomView extends QueueStanding {
  sku: string;
  policy: EscrowConfig["waitingRoom"]["policy"];
  opensAt: string;
  size: number;
  queueToken: string;
  pass?: string;
  passExpiresAt?: string;
}

export class GlobalWaitingRoom {
  constructor(
    private readonly config: EscrowConfig,
    private readonly store: QueueStore,
    private readonly tokens: QueueTokens,
    private readonly clock: Clock,
  ) {}

  /** The SKU's release schedule, or null when it has no scheduled opening (no waiting room). */
  schedule(sku: string): TrancheSchedule | null {
    const opensAt = this.config.skus.find((s) => s.sku === sku)?.opensAt;
    if (!opensAt) return null;
    const w = this.config.waitingRoom;
    return { opensAtMs: Date.parse(opensAt), trancheSize: w.trancheSize, intervalMs: w.trancheIntervalSeconds * 1000 };
  }

  private scheduled(sku: string): TrancheSchedule {
    const s = this.schedule(sku);
    if (!s) throw new HttpError(404, "no waiting room", `${sku} has no scheduled opening (opensAt), so it has no waiting room: reserve directly`);
    return s;
  }

  /**
   * Join, or come back with a queue token (from any region, after any restart): the buyer's place is
   * the best score the service ever issued them. Their random draw is keyed to them and the SKU
   * (`QueueTokens.draw`): joining afresh after the store lost them draws the same, never a second chance.
   * Admitted buyers get a pass.
   */
  async enter(sku: string, user: string, weight: number, token: string | undefined): Promise<RoomView> {
    const s = this.scheduled(sku);
    const now = this.clock.now();
    const claims = token ? await this.tokens.verifyQueue(token, sku, user) : null;
    const score = claims?.score ?? queueScore(this.config.waitingRoom.policy, now, s.opensAtMs, weight, this.tokens.draw(sku, user));
    const entry = await this.store.enter(sku, user, score, claims !== null);
    const st = standing(s, entry.position, now);
    const view: RoomView = {
      sku,
      policy: this.config.waitingRoom.policy,
      opensAt: new Date(s.opensAtMs).toISOString(),
      size: entry.size,
      ...st,
      queueToken: await this.tokens.queue({ sku, user, score: entry.score, joinedAtMs: claims?.joinedAtMs ?? now }, s.opensAtMs),
    };
    if (st.admitted) {
      const until = now + this.config.waitingRoom.passTtlSeconds * 1000;
      view.pass = await this.tokens.pass(sku, user, until);
      view.passExpiresAt = new Date(until).toISOString();
    }
    return view;
  }

  /** Whether a reservation of this SKU may go ahead: unscheduled SKUs always; scheduled ones with a valid pass. */
  async admit(sku: string, user: string, pass: string | undefined): Promise<boolean> {
    const s = this.schedule(sku);
    if (!s) return false;
    const now = this.clock.now();
    if (now < s.opensAtMs) {
      throw new HttpError(425, "sale not open", `${sku} opens at ${new Date(s.opensAtMs).toISOString()}; join the waiting room (POST /v1/inventory/${sku}/queue) to get a place`, {
        "retry-after": String(Math.ceil((s.opensAtMs - now) / 1000)),
      });
    }
    if (!pass) throw new HttpError(403, "waiting room", `${sku} admits buyers through its waiting room: join it (POST /v1/inventory/${sku}/queue) and send the pass you get in X-Queue-Pass`);
    await this.tokens.verifyPass(pass, sku, user);
    return true;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
