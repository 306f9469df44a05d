/**
 * NTPv4 packets (RFC 5905 §7.3): the 48-byte header, NTP timestamps (seconds since 1900 + 2⁻³² fraction)
 * and NTP short format (16.16 seconds) for root delay and dispersion. Pure encode/decode plus the
 * server's reply rule (§8): mode 3 in, mode 4 out, the client's transmit timestamp echoed as origin
 * bit-for-bit (clients match replies by it), our receive and transmit timestamps filled in.
 * Extension fields and MACs are ignored (clients that send them still get a plain reply).
 */
const NTP_PACKET_BYTES = 48;
/** Seconds from 1900-01-01 (NTP era 0) to the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_32 = 4_294_967_296;

export interface NtpTimestamp {
  seconds: number;
  fraction: number;
}

export interface NtpPacket {
  /** 0 no warning, 1 last minute has 61 s, 2 has 59 s, 3 unsynchronised. */
  leap: 0 | 1 | 2 | 3;
  version: number;
  /** 3 client, 4 server. */
  mode: number;
  stratum: number;
  poll: number;
  /** log2 seconds. */
  precision: number;
  rootDelayS: number;
  rootDispersionS: number;
  /** For stratum 1 a four-character source code (e.g. "GPS"). */
  referenceId: Buffer;
  reference: NtpTimestamp;
  origin: NtpTimestamp;
  receive: NtpTimestamp;
  transmit: NtpTimestamp;
}

export class NtpPacketError extends Error {
  override name = "NtpPacketError";
}

export function toNtpTimestamp(unixMs: number): NtpTimestamp {
  const unixSeconds = Math.floor(unixMs / 1000);
  const fraction = Math.min(TWO_32 - 1, Math.floor(((unixMs - unixSeconds * 1000) / 1000) * TWO_32));
  // Era 1 starts in 2036: the 32-bit seconds field wraps and the era is implied, as RFC 5905 §6 says.
  return { seconds: (unixSeconds + NTP_UNIX_OFFSET_S) % TWO_32, fraction };
}

/** Unix ms for an NTP timestamp, taking the era closest to `pivotMs` (RFC 5905's era ambiguity). */
export function fromNtpTimestamp(t: NtpTimestamp, pivotMs = Date.UTC(2026, 0, 1)): number {
  const pivotSeconds = Math.floor(pivotMs / 1000) + NTP_UNIX_OFFSET_S;
  const era = Math.round((pivotSeconds - t.seconds) / TWO_32);
  return (t.seconds + era * TWO_32 - NTP_UNIX_OFFSET_S) * 1000 + (t.fraction / TWO_32) * 1000;
}

const toShort = (seconds: number) => Math.min(0xffffffff, Math.max(0, Math.round(seconds * 65536)));

/** A client-mode (3) NTPv4 request: only the transmit timestamp matters (the server echoes it as origin). */
export function clientRequest(transmit: NtpTimestamp, poll = 4): NtpPacket {
  const zero = toNtpTimestamp(0);
  return { leap: 0, version: 4, mode: 3, stratum: 0, poll, precision: -20, rootDelayS: 0, rootDispersionS: 0, referenceId: Buffer.alloc(4), reference: zero, origin: zero, receive: zero, transmit };
}

export function encode(p: NtpPacket): Buffer {
  const b = Buffer.alloc(NTP_PACKET_BYTES);
  b.writeUInt8(((p.leap & 3) << 6) | ((p.version & 7) << 3) | (p.mode & 7), 0);
  b.writeUInt8(p.stratum & 0xff, 1);
  b.writeInt8(Math.max(-128, Math.min(127, p.poll)), 2);
  b.writeInt8(Math.max(-128, Math.min(127, p.precision)), 3);
  b.writeUInt32BE(toShort(p.rootDelayS), 4);
  b.writeUInt32BE(toShort(p.rootDispersionS), 8);
  p.referenceId.copy(b, 12, 0, 4);
  const ts = [p.reference, p.origin, p.receive, p.transmit];
  ts.forEach((t, i) => {
    b.writeUInt32BE(t.seconds >>> 0, 16 + i * 8);
    b.writeUInt32BE(t.fraction >>> 0, 20 + i * 8);
  });
  return b;
}

export function decode(b: Buffer): NtpPacket {
  if (b.length < NTP_PACKET_BYTES) throw new NtpPacketError(`NTP packet is ${b.length} bytes; expected at least ${NTP_PACKET_BYTES}`);
  const first = b.readUInt8(0);
  const version = (first >> 3) & 7;
  if (version < 1 || version > 4) throw new NtpPacketError(`unsupported NTP version ${version}`);
  const ts = (i: number): NtpTimestamp => ({ seconds: b.readUInt32BE(16 + i * 8), fraction: b.readUInt32BE(20 + i * 8) });
  return {
    leap: ((first >> 6) & 3) as NtpPacket["leap"],
    version,
    mode: first & 7,
    stratum: b.readUInt8(1),
    poll: b.readInt8(2),
    precision: b.readInt8(3),
    rootDelayS: b.readUInt32BE(4) / 65536,
    rootDispersionS: b.readUInt32BE(8) / 65536,
    referenceId: Buffer.from(b.subarray(12, 16)),
    reference: ts(0),
    origin: ts(1),
    receive: ts(2),
    transmit: ts(3),
  };
}

/** What a stratum-1 server knows when it answers. */
export interface ServerState {
  leap: 0 | 1 | 2;
  synchronized: boolean;
  /** Four ASCII characters naming the reference (RFC 5905 Figure 12: "GPS", "ATOM", ...). */
  referenceId: string;
  referenceMs: number;
  /** The server's error bound relative to its reference (ε), seconds. */
  rootDispersionS: number;
  /** log2 of the clock's resolution in seconds. */
  precision: number;
  /** The stratum served while synchronised (default 1: a primary reference; a relay is its references' + 1). */
  stratum?: number;
}

/**
 * The reply to a client request (mode 3), or null for anything a server must not answer (other modes).
 * An unsynchronised server still answers, but with leap 3 and stratum 16 so clients will not sync to it.
 */
export function reply(request: NtpPacket, receiveMs: number, transmitMs: number, state: ServerState): NtpPacket | null {
  if (request.mode !== 3) return null;
  const refid = Buffer.alloc(4);
  refid.write(state.referenceId.slice(0, 4), "ascii");
  return {
    leap: state.synchronized ? state.leap : 3,
    version: request.version,
    mode: 4,
    stratum: state.synchronized ? (state.stratum ?? 1) : 16,
    poll: request.poll,
    precision: state.precision,
    rootDelayS: 0,
    rootDispersionS: state.rootDispersionS,
    referenceId: refid,
    reference: toNtpTimestamp(state.referenceMs),
    origin: request.transmit,
    receive: toNtpTimestamp(receiveMs),
    transmit: toNtpTimestamp(transmitMs),
  };
}

/**
 * A kiss-o'-death reply (RFC 5905 §7.4): stratum 0, the kiss code ("RATE": slow down) as reference ID,
 * leap 3, the client's transmit echoed as origin so the client can match it, and no time of ours — a
 * client must never set its clock from a KoD. Its 48 bytes are no more than the request's.
 */
export function kissOfDeath(request: NtpPacket, code: "RATE" | "DENY" | "RSTR"): NtpPacket {
  const none = { seconds: 0, fraction: 0 };
  return {
    leap: 3,
    version: request.version,
    mode: 4,
    stratum: 0,
    poll: request.poll,
    precision: 0,
    rootDelayS: 0,
    rootDispersionS: 0,
    referenceId: Buffer.from(code, "ascii"),
    reference: none,
    origin: request.transmit,
    receive: none,
    transmit: none,
  };
}
