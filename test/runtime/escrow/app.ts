/**
 * The escrow routes on a bare fastify app, for tests that drive an EscrowService they built themselves
 * (a faulty store, a manual clock) with `app.inject`. The served process puts the same routes on the
 * service kit's app (runtime/escrow/serve.ts; test/runtime/escrow/serve.test.ts and hostile.test.ts).
 */
import Fastify, { type FastifyInstance } from "fastify";
import { installErrorHandler } from "../../../runtime/common/http.js";
import { MAX_RESERVATION_ID_LENGTH } from "../../../runtime/escrow/core/ids.js";
import type { EscrowService } from "../../../runtime/escrow/service.js";
import { installEscrowRoutes } from "../../../runtime/escrow/transport/http.js";
import type { BuyerVerifier } from "../../../runtime/escrow/transport/identity.js";

export function buildEscrowApp(service: EscrowService, verifier: BuyerVerifier): FastifyInstance {
  const app = Fastify({ routerOptions: { maxParamLength: MAX_RESERVATION_ID_LENGTH + 16 } });
  installErrorHandler(app);
  // Loaded on the first inject (fastify queues plugins until ready).
  void app.register(async (scoped) => installEscrowRoutes(scoped, service, verifier));
  return app;
}
