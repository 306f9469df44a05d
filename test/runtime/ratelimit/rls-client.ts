/**
 * An RLS client built straight from Envoy's published proto (the vendored, unmodified files), the way
 * Envoy's own gRPC client sees the service — not from any Meridian type.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

const PROTO_DIR = fileURLToPath(new URL("../../../runtime/ratelimit/proto/", import.meta.url));

export interface WireStatus {
  code: string;
  current_limit: { name: string; requests_per_unit: number; unit: string } | null;
  limit_remaining: number;
  duration_until_reset: { seconds: number; nanos: number } | null;
}

export interface WireResponse {
  overall_code: string;
  statuses: WireStatus[];
  response_headers_to_add: { key: string; value: string }[];
  dynamic_metadata: { fields: Record<string, unknown> } | null;
}

export type Kv = [string, string];
/** A descriptor: entries, and optionally an override and a per-descriptor hits_addend. */
export const d = (entries: Kv[], extra: { limit?: { requests_per_unit: number; unit: string }; hits_addend?: number } = {}) => ({
  entries: entries.map(([key, value]) => ({ key, value })),
  ...(extra.limit ? { limit: extra.limit } : {}),
  ...(extra.hits_addend !== undefined ? { hits_addend: { value: extra.hits_addend } } : {}),
});

export function rlsClient(target: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
  const def = protoLoader.loadSync("envoy/service/ratelimit/v3/rls.proto", { includeDirs: [PROTO_DIR], keepCase: true, enums: String, longs: Number, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } } };
  const client = new pkg.envoy.service.ratelimit.v3.RateLimitService(target, credentials);
  type Unary = (r: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, v: WireResponse) => void) => grpc.ClientUnaryCall;
  const unary = (client as unknown as { ShouldRateLimit: Unary }).ShouldRateLimit.bind(client);
  /** One call with this metadata: the answer or the error, and the server's initial metadata either way. */
  const exchange = (req: RlsRequest, metadata = new grpc.Metadata()) =>
    new Promise<{ response?: WireResponse; error?: grpc.ServiceError; metadata: grpc.Metadata }>((resolve) => {
      let initial = new grpc.Metadata();
      const call = unary(req, metadata, (error, response) => resolve(error ? { error, metadata: initial } : { response, metadata: initial }));
      call.on("metadata", (md: grpc.Metadata) => (initial = md));
    });
  const call = (req: RlsRequest, metadata?: grpc.Metadata) => exchange(req, metadata).then((r) => (r.error ? Promise.reject(r.error) : r.response!));
  return { client, call, exchange, close: () => client.close() };
}

type RlsRequest = { domain: string; descriptors: unknown[]; hits_addend?: number };
