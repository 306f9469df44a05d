/**
 * A one-shot SNTP client (RFC 5905 §8, RFC 4330): what a Meridian node uses to measure its offset from
 * the grandmaster and feed TrueTime and the skew monitor. With t1 client send, t2 server receive, t3
 * server send, t4 client receive: offset θ = ((t2 − t1) + (t3 − t4)) / 2, delay δ = (t4 − t1) − (t3 − t2),
 * and the error bound is root dispersion + root delay/2 + δ/2. Replies are checked the way chrony
 * checks them: origin must echo our transmit timestamp (no spoofed or stale replies), mode 4, a
 * synchronised server (leap ≠ 3, stratum 1–15).
 */
import { createSocket } from "node:dgram";
import type { Clock } from "../../common/clock.js";
import { clientRequest, decode, encode, fromNtpTimestamp, toNtpTimestamp, type NtpPacket } from "./packet.js";

export interface NtpMeasurement {
  /** Server time − local time, ms (positive: our clock is behind). */
  offsetMs: number;
  /** Round-trip delay, ms. */
  delayMs: number;
  /** Error bound of the offset: root dispersion + root delay/2 + delay/2, ms. */
  errorBoundMs: number;
  /** Local-clock ms the reply arrived (t4): when the offset held. */
  atMs: number;
  stratum: number;
  leap: number;
  referenceId: string;
}

export class NtpQueryError extends Error {
  override name = "NtpQueryError";
}

export function ntpQuery(host: string, port: number, options: { clock: Clock; timeoutMs?: number }): Promise<NtpMeasurement> {
  const { clock } = options;
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    const finish = (err: Error | null, m?: NtpMeasurement) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(m!);
    };
    const timer = setTimeout(() => finish(new NtpQueryError(`no NTP reply from ${host}:${port} within ${options.timeoutMs ?? 2000} ms`)), options.timeoutMs ?? 2000);
    const t1 = clock.now();
    const transmit = toNtpTimestamp(t1);
    socket.on("message", (msg) => {
      const t4 = clock.now();
      let reply: NtpPacket;
      try {
        reply = decode(msg);
      } catch (e) {
        return finish(new NtpQueryError(`malformed NTP reply: ${(e as Error).message}`));
      }
      if (reply.origin.seconds !== transmit.seconds || reply.origin.fraction !== transmit.fraction) return; // not ours: keep waiting
      if (reply.mode !== 4) return finish(new NtpQueryError(`NTP reply has mode ${reply.mode}; expected 4 (server)`));
      if (reply.leap === 3 || reply.stratum === 0 || reply.stratum > 15) return finish(new NtpQueryError(`server ${host}:${port} is unsynchronised (leap ${reply.leap}, stratum ${reply.stratum})`));
      const t2 = fromNtpTimestamp(reply.receive, t1);
      const t3 = fromNtpTimestamp(reply.transmit, t1);
      const offsetMs = (t2 - t1 + (t3 - t4)) / 2;
      const delayMs = Math.max(0, t4 - t1 - (t3 - t2));
      finish(null, {
        offsetMs,
        delayMs,
        errorBoundMs: (reply.rootDispersionS + reply.rootDelayS / 2) * 1000 + delayMs / 2,
        atMs: t4,
        stratum: reply.stratum,
        leap: reply.leap,
        referenceId: reply.referenceId.toString("ascii").replace(/\0+$/, ""),
      });
    });
    socket.on("error", (e) => finish(new NtpQueryError(`NTP query to ${host}:${port} failed: ${e.message}`)));
    const request = clientRequest(transmit);
    socket.send(encode(request), port, host);
  });
}
