/**
 * Reservation ids carry their region and SKU (`<region>.<uuid>.<base64url sku>`), so any region can
 * answer a commit or cancel for a reservation made elsewhere — e.g. after the GSLB fails a buyer over
 * from a region that died — by looking the sale up in the store.
 */

export function reservationId(region: string, sku: string, unique: string): string {
  return `${region}.${unique}.${Buffer.from(sku, "utf8").toString("base64url")}`;
}

export function parseReservationId(id: string): { region: string; sku: string } | null {
  const m = /^([a-z][a-z0-9-]{0,38}[a-z0-9])\.([A-Za-z0-9-]{1,64})\.([A-Za-z0-9_-]{1,100})$/.exec(id);
  if (!m) return null;
  const sku = Buffer.from(m[3]!, "base64url").toString("utf8");
  return sku.length > 0 ? { region: m[1]!, sku } : null;
}
