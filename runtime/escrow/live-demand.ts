/**
 * A region's expected demand for one SKU while the sale runs: the model's forecast (the prior, worth
 * `priorSeconds` of observation) updated by the reservations the region actually takes, exponentially
 * forgotten (model/escrow/dynamic.ts, Gamma–Poisson). The region plans refills and rebalancing with
 * this rate, so live demand flows back into where stock sits: a region whose forecast demand does not
 * show up stops holding stock for it, and one busier than forecast is already planned at its live rate.
 * Nothing is observed before the sale opens: an empty pre-sale hour is not evidence of low demand.
 */
import { NO_OBSERVATION, observe, posteriorRate, type DemandObservation } from "../../model/escrow/dynamic.js";

export class LiveDemand {
  private observation: DemandObservation = NO_OBSERVATION;
  private lastTotal: number | null = null;
  private lastMs = 0;

  constructor(
    readonly forecast: number,
    private readonly priorSeconds: number,
    private readonly halfLifeSeconds: number,
    private readonly opensAtMs: number,
  ) {}

  /** Fold in the region's cumulative units reserved as of `nowMs`. */
  update(reservedTotal: number, nowMs: number): void {
    if (nowMs < this.opensAtMs) return;
    if (this.lastTotal !== null && nowMs > this.lastMs) {
      this.observation = observe(this.observation, Math.max(0, reservedTotal - this.lastTotal), (nowMs - this.lastMs) / 1000, this.halfLifeSeconds);
    }
    if (this.lastTotal === null || nowMs > this.lastMs) {
      this.lastTotal = reservedTotal;
      this.lastMs = nowMs;
    }
  }

  /** Posterior mean demand, units/s. */
  get rate(): number {
    return posteriorRate(this.forecast, this.priorSeconds, this.observation);
  }

  get observed(): DemandObservation {
    return this.observation;
  }
}
