/** A minimal stub resolver (one UDP query, dns-packet wire format) for drills that watch DNS answers. */
import dgram from "node:dgram";
import dnsPacket from "dns-packet";

export async function queryA(server: { host?: string; port: number }, name: string, timeoutMs = 1000): Promise<string[]> {
  const socket = dgram.createSocket("udp4");
  const id = Math.floor(Math.random() * 65535);
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DNS answer for ${name} within ${timeoutMs} ms`)), timeoutMs);
      socket.on("message", (msg) => {
        const reply = dnsPacket.decode(msg);
        if (reply.id !== id) return;
        clearTimeout(timer);
        resolve((reply.answers ?? []).flatMap((a) => (a.type === "A" ? [String(a.data)] : [])));
      });
      socket.send(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] }), server.port, server.host ?? "127.0.0.1");
    });
  } finally {
    socket.close();
  }
}
