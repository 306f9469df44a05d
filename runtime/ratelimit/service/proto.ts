/**
 * Load Envoy's RLS v3 service definition from the vendored protos (runtime/ratelimit/proto).
 *
 * proto-loader's loadSync parses the files, then describes every type of every file loaded (well over a hundred,
 * each encoded as a FileDescriptorProto for gRPC reflection, which no server here offers): that description was over
 * half the cost. This parses the files the same way (proto-loader's own loader, its well-known protos added) and
 * builds the one service's method definitions as loadSync does — the same paths, serializers and deserializers with
 * the same conversion options — without describing the rest.
 */
import * as grpc from "@grpc/grpc-js";
import { addCommonProtos, loadProtosWithOptionsSync } from "@grpc/proto-loader/build/src/util.js";
import { fileURLToPath } from "node:url";

export const PROTO_DIR = fileURLToPath(new URL("../proto/", import.meta.url));
const RLS_PROTO = "envoy/service/ratelimit/v3/rls.proto";
const RLS_SERVICE = "envoy.service.ratelimit.v3.RateLimitService";
/** How messages convert to and from objects (protobufjs's IConversionOptions), as every caller of the service expects. */
const OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

type Root = ReturnType<typeof loadProtosWithOptionsSync>;
type MessageType = NonNullable<ReturnType<Root["lookupService"]>["methodsArray"][number]["resolvedRequestType"]>;

/** As proto-loader's createSerializer. */
const serializer = (type: MessageType) => (value: object) => {
  if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
};
/** As proto-loader's createDeserializer. */
const deserializer = (type: MessageType) => (bytes: Buffer) => type.toObject(type.decode(bytes), OPTIONS);

let rls: grpc.ServiceClientConstructor | undefined;

/** Parsed once per process (~40 ms of CPU): every gRPC server a process starts (a test starts many) shares it. */
export function loadRlsService(): grpc.ServiceClientConstructor {
  if (rls) return rls;
  addCommonProtos();
  const service = loadProtosWithOptionsSync(RLS_PROTO, { includeDirs: [PROTO_DIR], ...OPTIONS }).lookupService(RLS_SERVICE);
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    definition[method.name] = {
      path: `/${RLS_SERVICE}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      // proto-loader's camelCase of the method name (ShouldRateLimit → shouldRateLimit): a client's second name for it.
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return (rls = grpc.makeClientConstructor(definition, "RateLimitService"));
}
