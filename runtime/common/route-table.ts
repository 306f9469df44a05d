/**
 * The routes a fastify app registers, as it registered them: method, URL pattern and the declared `config.auth`.
 * Installed right after the app is created (an onRoute hook sees only routes added after it, including those of
 * encapsulated plugins), read back with `app.routeTable()`. Tests compare it with the mesh's per-route policies,
 * so the list is the running service's own, never a hand-kept copy.
 */
import type { FastifyInstance } from "fastify";

export interface RouteEntry {
  method: string;
  /** fastify's pattern: `:param` segments and a trailing `*`. */
  url: string;
  /** The route's `config.auth` (runtime/kit/auth.ts), when it declares one. */
  auth?: unknown;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Every route registered so far (HEAD routes fastify adds for GETs included). */
    routeTable(): readonly RouteEntry[];
  }
}

export function trackRoutes(app: FastifyInstance): void {
  const routes: RouteEntry[] = [];
  app.addHook("onRoute", (r) => {
    const config = r.config as { auth?: unknown } | undefined;
    for (const method of [r.method].flat()) routes.push({ method, url: r.url, ...(config?.auth !== undefined ? { auth: config.auth } : {}) });
  });
  app.decorate("routeTable", () => routes);
}
