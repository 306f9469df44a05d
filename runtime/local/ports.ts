/**
 * The local estate's public ports — dashboard, GSLB DNS, one per region address — are bound by the
 * supervisor before anything else starts, so a taken port ends the start at once with a message naming
 * it (and the flag that moves it) instead of a half-started estate.
 */
import { RegionProxy } from "./proxy.js";

/** A port the estate needs is taken or not bindable: a clear, one-line reason (the CLI exits 1). */
export class PortUnavailableError extends Error {
  override name = "PortUnavailableError";
  constructor(
    readonly role: string,
    readonly address: string,
    readonly code: string,
    readonly flag: string,
  ) {
    super(
      code === "EADDRINUSE"
        ? `${address} (${role}) is already in use — is another \`meridian local\` running? Choose another port with ${flag}, or --auto-ports to pick free ones`
        : `cannot listen on ${address} (${role}): ${code}; choose another port with ${flag}, or --auto-ports`,
    );
  }
}

/** Run a bind, turning its EADDRINUSE/EACCES/EADDRNOTAVAIL into a PortUnavailableError. */
export async function bindOrExplain<T>(role: string, address: string, flag: string, bind: () => Promise<T>): Promise<T> {
  try {
    return await bind();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") throw new PortUnavailableError(role, address, code, flag);
    throw err;
  }
}

/**
 * One proxy per region address, all on the same port (clients know a region only by the address DNS
 * answers). Port 0 picks a port free on every address, retrying when another process takes it between binds.
 */
export async function bindRegionProxies(regions: { id: string; host: string }[], port: number): Promise<RegionProxy[]> {
  for (let attempt = 0; ; attempt++) {
    const bound: RegionProxy[] = [];
    let chosen = port;
    try {
      for (const r of regions) {
        const proxy = await bindOrExplain(`region ${r.id}`, `${r.host}:${chosen}`, "--base-port <n>", () => RegionProxy.listen(r.host, chosen));
        chosen = proxy.port;
        bound.push(proxy);
      }
      return bound;
    } catch (err) {
      await Promise.all(bound.map((p) => p.close()));
      if (port !== 0 || attempt >= 20 || !(err instanceof PortUnavailableError)) throw err;
    }
  }
}
