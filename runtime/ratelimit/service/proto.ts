/** Load Envoy's RLS v3 service definition from the vendored protos (runtime/ratelimit/proto). */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

export const PROTO_DIR = fileURLToPath(new URL("../proto/", import.meta.url));
const RLS_PROTO = "envoy/service/ratelimit/v3/rls.proto";

let rls: grpc.ServiceClientConstructor | undefined;

/** Parsed once per process (~70 ms of CPU): every gRPC server a process starts (a test starts many) shares it. */
export function loadRlsService(): grpc.ServiceClientConstructor {
  if (rls) return rls;
  const def = protoLoader.loadSync(RLS_PROTO, { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } } };
  return (rls = pkg.envoy.service.ratelimit.v3.RateLimitService);
}
