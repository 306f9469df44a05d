/**
 * The escrow routes' path parameters and bodies. zod's schemas are the definition; the sale path's routes
 * (reserve, commit) first try a hand check that accepts exactly the well-formed inputs those schemas accept
 * and returns what zod would, since zod's parse is a visible share of a sale's CPU. Anything else goes to
 * zod, so a refusal still names what is wrong, word for word as before.
 */
import { z } from "zod";
import { parseInput } from "../../kit/index.js";
import { MAX_RESERVATION_ID_LENGTH, SKU } from "../core/ids.js";

export const skuParam = z.object({ sku: z.string().regex(SKU, "expected a SKU: letters, digits, '.', '_' or '-', at most 64") });
export const idParam = z.object({ id: z.string().min(1).max(MAX_RESERVATION_ID_LENGTH) });
export const createBody = z.object({ total: z.number().int("expected a whole number of units").positive().max(1e12) }).strict();
export const reserveBody = z
  .object({ qty: z.number().int("expected a whole number of units").min(1).max(1000).default(1) })
  .strict()
  .default({ qty: 1 });

/** The SKU of a `/:sku` route (as `parseInput(skuParam, params, "path").sku`). */
export function skuOf(params: unknown): string {
  const sku = (params as { sku?: unknown } | null)?.sku;
  return typeof sku === "string" && SKU.test(sku) ? sku : parseInput(skuParam, params, "path").sku;
}

/** The reservation id of a `/:id` route (as `parseInput(idParam, params, "path").id`). */
export function reservationIdOf(params: unknown): string {
  const id = (params as { id?: unknown } | null)?.id;
  return typeof id === "string" && id.length >= 1 && id.length <= MAX_RESERVATION_ID_LENGTH ? id : parseInput(idParam, params, "path").id;
}

/** The units a reservation body asks for (as `parseInput(reserveBody, body, "body").qty`): no body, `{}` or `{"qty": n}`. */
export function reserveQty(body: unknown): number {
  if (body === undefined) return 1;
  if (typeof body === "object" && body !== null && Object.getPrototypeOf(body) === Object.prototype) {
    const keys = Object.keys(body);
    if (keys.length === 0) return 1;
    const qty = (body as { qty?: unknown }).qty;
    if (keys.length === 1 && keys[0] === "qty" && typeof qty === "number" && Number.isInteger(qty) && qty >= 1 && qty <= 1000) return qty;
  }
  return parseInput(reserveBody, body, "body").qty;
}
