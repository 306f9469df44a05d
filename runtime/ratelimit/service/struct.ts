/**
 * JSON values as google.protobuf.Struct (what proto-loader's object form expects): the shape of
 * RateLimitResponse.dynamic_metadata and of envoyproxy/ratelimit's descriptor `metadata`. protobufjs
 * predefines the well-known types with camelCase field names (`stringValue`), whatever `keepCase` says.
 */
type ProtoValue =
  | { nullValue: "NULL_VALUE" }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: { fields: Record<string, ProtoValue> } }
  | { listValue: { values: ProtoValue[] } };

function toValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === "object") return { structValue: toStruct(v as Record<string, unknown>) };
  return { stringValue: String(v) };
}

export function toStruct(o: Record<string, unknown>): { fields: Record<string, ProtoValue> } {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toValue(v)])) };
}

/** The inverse, for clients and tests. */
export function fromStruct(s: { fields?: Record<string, unknown> } | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = fromValue(v as Record<string, unknown>);
  return out;
}

function fromValue(v: Record<string, unknown>): unknown {
  // proto-loader with `oneofs: true` names the set field in `kind`; with defaults, unset ones are null.
  const kind = (v.kind as string | undefined) ?? Object.keys(v).find((k) => k.endsWith("Value") && v[k] !== null && v[k] !== undefined);
  switch (kind) {
    case "structValue":
      return fromStruct(v.structValue as { fields: Record<string, unknown> });
    case "listValue":
      return ((v.listValue as { values?: Record<string, unknown>[] }).values ?? []).map(fromValue);
    case undefined:
    case "nullValue":
      return null;
    default:
      return v[kind];
  }
}
