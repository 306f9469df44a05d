/**
 * Latency estimates for placement: round-trip time from great-circle distance. Light in fibre covers
 * about 200 km per millisecond (refractive index ≈ 1.5); real routes are longer than the great circle
 * (`routeFactor`), and every request pays fixed overhead (TLS, queuing, last mile). A measured figure
 * for a pair overrides the estimate.
 */
export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface LatencyModel {
  /** Route length ÷ great-circle distance. */
  routeFactor: number;
  /** Fixed round-trip overhead in ms. */
  overheadMs: number;
  /** Measured RTTs in ms, keyed `demand→region` (either order is accepted). */
  overrides: Record<string, number>;
}

const EARTH_RADIUS_KM = 6371;
const FIBRE_KM_PER_MS = 200;

export const defaultLatencyModel: LatencyModel = { routeFactor: 1.5, overheadMs: 5, overrides: {} };

/** Haversine great-circle distance in km. */
export function greatCircleKm(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

function overrideKey(from: string, to: string): string {
  return `${from}→${to}`;
}

/** Round-trip time in ms between a demand point and a region. */
export function rttMs(model: LatencyModel, from: { id: string } & GeoPoint, to: { id: string } & GeoPoint): number {
  const measured = model.overrides[overrideKey(from.id, to.id)] ?? model.overrides[overrideKey(to.id, from.id)];
  if (measured !== undefined) return measured;
  return (2 * greatCircleKm(from, to) * model.routeFactor) / FIBRE_KM_PER_MS + model.overheadMs;
}
