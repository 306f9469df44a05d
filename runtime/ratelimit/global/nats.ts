/**
 * NATS transports for global rate limiting: the allocator answers GetCapacity as request/reply on
 * `<subject>.getcapacity`, and gossip announcements travel on `<subject>.gossip.<resource>`. Payloads
 * are JSON; a malformed request gets `{error}` naming the problem, never a lease.
 */
import type { NatsConnection, Subscription } from "nats";
import { z } from "zod";
import type { Clock } from "../../common/clock.js";
import type { GlobalAllocator, Lease } from "./allocator.js";
import type { Announcement, GossipAllocator } from "./gossip.js";

const request = z.object({ resource: z.string().min(1), client: z.string().min(1), wants: z.number().nonnegative().finite() }).strict();
const announcement = z.object({ resource: z.string(), client: z.string(), wants: z.number(), has: z.number(), expiresAt: z.number() });
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));

export function serveAllocator(nc: NatsConnection, subject: string, allocator: GlobalAllocator, clock: Clock): Subscription {
  return nc.subscribe(`${subject}.getcapacity`, {
    queue: "meridian-allocator",
    callback: (_err, msg) => {
      try {
        const r = request.safeParse(dec(msg.data));
        if (!r.success) {
          msg.respond(enc({ error: r.error.issues.map((i) => `${i.path.join(".") || "request"}: ${i.message}`).join("; ") }));
          return;
        }
        msg.respond(enc(allocator.getCapacity(r.data.resource, r.data.client, r.data.wants, clock.now())));
      } catch (err) {
        msg.respond(enc({ error: (err as Error).message }));
      }
    },
  });
}

export async function requestCapacity(nc: NatsConnection, subject: string, resource: string, client: string, wants: number, timeoutMs = 500): Promise<Lease> {
  const reply = dec((await nc.request(`${subject}.getcapacity`, enc({ resource, client, wants }), { timeout: timeoutMs })).data) as Lease | { error: string };
  if ("error" in reply) throw new Error(`allocator refused: ${reply.error}`);
  return reply;
}

export function joinGossip(nc: NatsConnection, subject: string, gossip: GossipAllocator, resource: string): { publish(a: Announcement): void; subscription: Subscription } {
  const subscription = nc.subscribe(`${subject}.gossip.${resource}`, {
    callback: (_err, msg) => {
      const a = announcement.safeParse(dec(msg.data));
      if (a.success) gossip.receive(a.data);
    },
  });
  return { subscription, publish: (a) => nc.publish(`${subject}.gossip.${resource}`, enc(a)) };
}
