/**
 * The escrow routes on a bare fastify app, for tests that drive an EscrowService they built themselves
 * (a faulty store, a manual clock) with `app.inject`. The served process puts the same routes on the
 * service kit's app (runtime/escrow/serve.ts; test/runtime/escrow/serve.test.ts and hostile.test.ts); here
 * the kit's authenticator checks each route's rule the same way, trusting the config's buyer issuer.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { systemClock, type Clock } from "../../../runtime/common/clock.js";
import { installErrorHandler } from "../../../runtime/common/http.js";
import { MAX_RESERVATION_ID_LENGTH } from "../../../runtime/escrow/core/ids.js";
import type { EscrowService } from "../../../runtime/escrow/service.js";
import { installEscrowRoutes, type EscrowRouteOptions } from "../../../runtime/escrow/transport/http.js";
import { buyerJwtConfig } from "../../../runtime/escrow/transport/identity.js";
import { Authenticator } from "../../../runtime/kit/auth.js";
import { serverConfigSchema } from "../../../runtime/kit/index.js";

export function buildEscrowApp(service: EscrowService, clock: Clock = systemClock, opts: EscrowRouteOptions = {}): FastifyInstance {
  const app = Fastify({ routerOptions: { maxParamLength: MAX_RESERVATION_ID_LENGTH + 16 } });
  installErrorHandler(app);
  const authenticator = new Authenticator(serverConfigSchema.parse({ auth: { jwt: buyerJwtConfig(service.config.identity) } }).auth, clock);
  app.addHook("onRequest", async (req) => {
    const auth = req.routeOptions.config.auth;
    if (auth !== undefined) await authenticator.authorize(req, auth);
  });
  // Loaded on the first inject (fastify queues plugins until ready).
  void app.register(async (scoped) => installEscrowRoutes(scoped, service, opts));
  return app;
}
