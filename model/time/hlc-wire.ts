/**
 * Where HLC timestamps travel between services (§12.1.3): the header and metadata names every service reads
 * and writes. Deployments advertise them (components/workloads) and runtime/clock/propagation.ts uses them,
 * so both read the one definition here. Each carries `<wall micros>.<logical>`.
 */
export const HLC_HTTP_HEADER = "x-meridian-hlc";
export const HLC_GRPC_METADATA_KEY = "meridian-hlc";
export const HLC_NATS_HEADER = "Meridian-HLC";
/** The sender's HLC epoch beside `Meridian-HLC` (runtime/clock/epoch.ts): a message from an older epoch is dropped. */
export const HLC_NATS_EPOCH_HEADER = "Meridian-HLC-Epoch";
