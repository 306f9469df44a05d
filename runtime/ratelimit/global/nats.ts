/**
 * NATS transports for global rate limiting: the allocator answers GetCapacity as request/reply on
 * `<subject>.getcapacity`, and gossip announcements travel on `<subject>.gossip.<resource>`. Payloads
 * are JSON; a malformed request gets `{error}` naming the problem, never a lease. No identity: a request's `client`
 * (and an announcement's region) is taken as the payload says, so whoever may publish on these subjects speaks for
 * every client; over HTTP the allocator binds it to the verified caller (server.ts, docs/ratelimit.md).
 *
 * With a clock node (`time`), every message — request, reply, announcement — carries the sender's HLC and
 * epoch in NATS headers (runtime/clock/propagation.ts). A message from an older HLC epoch (sent before a
 * reset) is never acted on: a request is answered `{error: "hlc reset: …"}`, a reply is refused, an
 * announcement is dropped — each counted in meridian_hlc_message_refusals_total and logged.
 */
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "nats";
import { z } from "zod";
import type { Clock } from "../../common/clock.js";
import { natsHlc, type ClockNode, type NatsRefusal } from "../../clock/index.js";
import type { Lease } from "./allocator.js";
import type { Announcement, GossipAllocator } from "./gossip.js";

const request = z.object({ resource: z.string().min(1).max(128), client: z.string().min(1).max(256), wants: z.number().nonnegative().finite() }).strict();
const announcement = z.object({ resource: z.string(), client: z.string(), wants: z.number(), predicted: z.number().nonnegative().finite().optional(), has: z.number(), expiresAt: z.number() });
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));

/** HLC propagation on these transports: the service's clock node, and where refusals are logged (default: a JSON line on stderr). */
export interface NatsTime {
  node: ClockNode;
  warn?: (r: NatsRefusal) => void;
}

const stamped = (time: NatsTime | undefined): { headers?: MsgHdrs } => {
  if (!time) return {};
  const headers = natsHeaders();
  natsHlc.inject(headers, time.node);
  return { headers };
};

const refused = (msg: Msg, time: NatsTime | undefined): NatsRefusal | null => (time ? natsHlc.receive(msg.headers, time.node, msg.subject, time.warn) : null);

const refusalText = (r: NatsRefusal) => `${r.reason === "reset" ? "hlc reset" : `hlc ${r.reason}`}: ${r.detail}`;

/** What answers GetCapacity: the in-process GlobalAllocator or the service's lease store (lease-store.ts). */
export interface CapacitySource {
  getCapacity(resource: string, client: string, wants: number, now: number): Lease | Promise<Lease>;
}

export function serveAllocator(nc: NatsConnection, subject: string, allocator: CapacitySource, clock: Clock, time?: NatsTime): Subscription {
  return nc.subscribe(`${subject}.getcapacity`, {
    queue: "meridian-allocator",
    callback: (_err, msg) => void answer(msg),
  });
  async function answer(msg: Msg): Promise<void> {
    const respond = (v: unknown) => msg.respond(enc(v), stamped(time));
    try {
      const hlc = refused(msg, time);
      if (hlc) {
        respond({ error: refusalText(hlc) });
        return;
      }
      const r = request.safeParse(dec(msg.data));
      if (!r.success) {
        respond({ error: r.error.issues.map((i) => `${i.path.join(".") || "request"}: ${i.message}`).join("; ") });
        return;
      }
      // A store that does not answer is an {error} naming it, as over HTTP (503).
      respond(await allocator.getCapacity(r.data.resource, r.data.client, r.data.wants, clock.now()));
    } catch (err) {
      respond({ error: (err as Error).message });
    }
  }
}

export async function requestCapacity(nc: NatsConnection, subject: string, resource: string, client: string, wants: number, timeoutMs = 500, time?: NatsTime): Promise<Lease> {
  const msg = await nc.request(`${subject}.getcapacity`, enc({ resource, client, wants }), { timeout: timeoutMs, ...stamped(time) });
  const hlc = refused(msg, time);
  const reply = dec(msg.data) as Lease | { error: string };
  // A refusal from the allocator explains itself (e.g. our epoch is older than its): surface it first.
  if ("error" in reply) throw new Error(`allocator refused: ${reply.error}`);
  if (hlc) throw new Error(`allocator reply refused: ${refusalText(hlc)}`);
  return reply;
}

export function joinGossip(nc: NatsConnection, subject: string, gossip: GossipAllocator, resource: string, time?: NatsTime): { publish(a: Announcement): void; subscription: Subscription } {
  const subscription = nc.subscribe(`${subject}.gossip.${resource}`, {
    callback: (_err, msg) => {
      if (refused(msg, time)) return;
      const a = announcement.safeParse(dec(msg.data));
      if (a.success) gossip.receive(a.data);
    },
  });
  return { subscription, publish: (a) => nc.publish(`${subject}.gossip.${resource}`, enc(a), stamped(time)) };
}
