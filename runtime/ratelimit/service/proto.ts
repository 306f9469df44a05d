/** Load Envoy's RLS v3 service definition from the vendored protos (runtime/ratelimit/proto). */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

export const PROTO_DIR = fileURLToPath(new URL("../proto/", import.meta.url));
const RLS_PROTO = "envoy/service/ratelimit/v3/rls.proto";

export function loadRlsService(): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync(RLS_PROTO, { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } } };
  return pkg.envoy.service.ratelimit.v3.RateLimitService;
}
