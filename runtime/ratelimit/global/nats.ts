/**
 * NATS transports for global rate limiting: the allocator answers GetCapacity as request/reply on
 * `<subject>.getcapacity.<client>` (the client as one subject token, clientToken), and gossip announcements travel on
 * `<subject>.gossip.<resource>`. Payloads are JSON; a malformed request gets `{error}` naming the problem, never a lease.
 *
 * Who a client is: the subject. The allocator takes the client from the subject it was asked on and refuses a payload
 * whose `client` differs, so what a publisher may ask for is what the NATS server lets it publish on. Deployed with
 * natsAuthorization's server config — one nkey user per regional limiter, allowed to publish only on its own client's
 * subject and to read only its own inbox (`_INBOX.<client token>`), and one for the allocator, which reads the requests
 * and answers them alone — a limiter can neither claim, read nor release another client's lease. Both sides connect
 * with an nkey seed file (natsAuthenticator; connectLimiter for a limiter). Gossip still carries no identity: an
 * announcement's region is taken as the payload says (docs/ratelimit.md).
 *
 * With a clock node (`time`), every message — request, reply, announcement — carries the sender's HLC and
 * epoch in NATS headers (runtime/clock/propagation.ts). A message from an older HLC epoch (sent before a
 * reset) is never acted on: a request is answered `{error: "hlc reset: …"}`, a reply is refused, an
 * announcement is dropped — each counted in meridian_hlc_message_refusals_total and logged.
 */
import { readFileSync } from "node:fs";
import { connect, headers as natsHeaders, nkeyAuthenticator, nkeys, type Authenticator, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "nats";
import { z } from "zod";
import type { Clock } from "../../common/clock.js";
import { natsHlc, type ClockNode, type NatsRefusal } from "../../clock/index.js";
import type { Lease } from "./allocator.js";
import { natsSubjectSchema, natsUrlSchema } from "./nats-config.js";
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

/**
 * A client as one NATS subject token: percent-encoded (encodeURIComponent, and `.`, `*`, `!`, `~`, `'`, `(`, `)` too),
 * so no `.`, wildcard or whitespace survives and decodeURIComponent gives the client back. The limiter's NATS user is
 * allowed `<subject>.getcapacity.<clientToken(client)>` and its inbox `_INBOX.<clientToken(client)>.>`.
 */
export function clientToken(client: string): string {
  return encodeURIComponent(client).replace(/[.*!~'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const subjectClient = (token: string): string | null => {
  try {
    const client = decodeURIComponent(token);
    // Only the canonical spelling names a client: one client, one subject, one NATS permission.
    return clientToken(client) === token ? client : null;
  } catch {
    return null;
  }
};

export function serveAllocator(nc: NatsConnection, subject: string, allocator: CapacitySource, clock: Clock, time?: NatsTime): Subscription {
  const prefix = `${subject}.getcapacity.`;
  return nc.subscribe(`${prefix}*`, {
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
      const client = subjectClient(msg.subject.slice(prefix.length));
      if (client === null) {
        respond({ error: `subject ${msg.subject}: its last token is not a client as clientToken spells it` });
        return;
      }
      const r = request.safeParse(dec(msg.data));
      if (!r.success) {
        respond({ error: r.error.issues.map((i) => `${i.path.join(".") || "request"}: ${i.message}`).join("; ") });
        return;
      }
      // The subject is who asks (the NATS server let this publisher use it); a payload speaking for another is refused.
      if (r.data.client !== client) {
        respond({ error: `client ${JSON.stringify(r.data.client)} is not this subject's client ${JSON.stringify(client)}: ask on ${prefix}<your client>` });
        return;
      }
      // A store that does not answer is an {error} naming it, as over HTTP (503).
      respond(await allocator.getCapacity(r.data.resource, client, r.data.wants, clock.now()));
    } catch (err) {
      respond({ error: (err as Error).message });
    }
  }
}

export async function requestCapacity(nc: NatsConnection, subject: string, resource: string, client: string, wants: number, timeoutMs = 500, time?: NatsTime): Promise<Lease> {
  const msg = await nc.request(`${subject}.getcapacity.${clientToken(client)}`, enc({ resource, client, wants }), { timeout: timeoutMs, ...stamped(time) });
  const hlc = refused(msg, time);
  const reply = dec(msg.data) as Lease | { error: string };
  // A refusal from the allocator explains itself (e.g. our epoch is older than its): surface it first.
  if ("error" in reply) throw new Error(`allocator refused: ${reply.error}`);
  if (hlc) throw new Error(`allocator reply refused: ${refusalText(hlc)}`);
  return reply;
}

/**
 * The authenticator for an nkey seed file (`nsc`/`nk -gen user` output: one line `SU…`, the user's private seed; a
 * mounted Secret). The file is read and checked now: a file that cannot be read, or holds no user seed, is an Error
 * naming `key` and the file — never the seed.
 */
export function natsAuthenticator(key: string, file: string): Authenticator {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`${key} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  const seed = text.trim();
  let ok: boolean;
  try {
    // nkeys' seeds: 'S', then the key's type ('U' for a user), then the encoded key and checksum.
    ok = seed.startsWith("SU") && typeof (nkeys.fromSeed(new TextEncoder().encode(seed)) as { getPublicKey(): string }).getPublicKey() === "string";
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`${key} ${file}: not an nkey user seed (expected one line starting SU, as \`nk -gen user\` writes)`);
  return nkeyAuthenticator(new TextEncoder().encode(seed));
}

/** A regional limiter's NATS face: where, as which client, and with which nkey seed (none: an open server). */
const limiterNatsSchema = z
  .object({
    nats: natsUrlSchema,
    subject: natsSubjectSchema,
    client: z.string().min(1).max(256),
    nkeySeedFile: z.string().min(1).optional(),
    timeoutMs: z.number().int().positive().max(60_000).default(500),
  })
  .strict();

export interface LimiterNats {
  nc: NatsConnection;
  client: string;
  /** GetCapacity for this limiter's client (requestCapacity on its own subject). */
  getCapacity(resource: string, wants: number, time?: NatsTime): Promise<Lease>;
  close(): Promise<void>;
}

/**
 * Connect a regional limiter to the allocator over NATS: `{ nats, subject?, client, nkeySeedFile?, timeoutMs? }`. With
 * a seed it authenticates as its own NATS user, and its replies come to `_INBOX.<client token>.…`, the one inbox its
 * permissions let it read (natsAuthorization). A bad config is an Error naming every problem.
 */
export async function connectLimiter(raw: unknown): Promise<LimiterNats> {
  const r = limiterNatsSchema.safeParse(raw);
  if (!r.success) throw new Error(`limiter NATS config: ${r.error.issues.map((i) => `${i.path.join(".") || "(config)"}: ${i.message}`).join("; ")}`);
  const c = r.data;
  const authenticator = c.nkeySeedFile === undefined ? undefined : natsAuthenticator("nkeySeedFile", c.nkeySeedFile);
  const nc = await connect({
    servers: c.nats,
    name: `meridian-ratelimit-limiter ${c.client}`,
    inboxPrefix: `_INBOX.${clientToken(c.client)}`,
    reconnect: true,
    maxReconnectAttempts: -1,
    ...(authenticator ? { authenticator } : {}),
  });
  return {
    nc,
    client: c.client,
    getCapacity: (resource, wants, time) => requestCapacity(nc, c.subject, resource, c.client, wants, c.timeoutMs, time),
    close: () => nc.drain().catch(() => undefined),
  };
}

/**
 * The `authorization` block of a nats-server config (JSON, which nats-server's syntax takes) for GetCapacity with
 * identities: the allocator's nkey may read `<subject>.getcapacity.*` and answer what it reads (allow_responses,
 * nothing else); each limiter's may publish only on `<subject>.getcapacity.<its client>` and read only its own inbox
 * (`_INBOX.<its client>.>`, connectLimiter's prefix), so it neither asks as another client nor reads their leases.
 */
export function natsAuthorization(o: { subject: string; allocator: string; limiters: readonly { client: string; nkey: string }[] }): string {
  const user = (nkey: string) => {
    if (!/^U[A-Z2-7]{55}$/.test(nkey)) throw new Error(`natsAuthorization: ${JSON.stringify(nkey)} is not an nkey user's public key (U…, 56 characters)`);
    return nkey;
  };
  const clients = o.limiters.map((l) => l.client);
  const dup = clients.find((c, i) => clients.indexOf(c) !== i);
  if (dup !== undefined) throw new Error(`natsAuthorization: client ${JSON.stringify(dup)} is given two NATS users`);
  const users = [
    { nkey: user(o.allocator), permissions: { subscribe: { allow: [`${o.subject}.getcapacity.*`] }, allow_responses: true } },
    ...o.limiters.map((l) => ({
      nkey: user(l.nkey),
      permissions: { publish: { allow: [`${o.subject}.getcapacity.${clientToken(l.client)}`] }, subscribe: { allow: [`_INBOX.${clientToken(l.client)}.>`] } },
    })),
  ];
  return `authorization: ${JSON.stringify({ users }, null, 2)}\n`;
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
