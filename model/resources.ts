/**
 * A planned resource as `pulumi preview` knows it: its type token, logical name, URN and properties,
 * where a property only the cloud can know (an id, an address, another resource's output) is UNKNOWN.
 * Rules and pricers read resources through `prop`/`num`/`str`, which never throw and never mistake an
 * unknown for a value — so a decision made in preview is the decision `pulumi up` would make.
 *
 * The engine marks unknowns with sentinel strings (Pulumi's `UnknownStringValue` and friends); the mock
 * runtime records them as "(computed)". `withUnknowns` turns either into the one UNKNOWN marker.
 */
export const UNKNOWN: unique symbol = Symbol.for("meridian.unknown");
export type Unknown = typeof UNKNOWN;

export interface PlannedResource {
  type: string;
  name: string;
  urn?: string;
  props: Record<string, unknown>;
}

/** The engine's sentinels for unknown values (sdk/go/common/resource/plugin/rpc.go), plus the mock runtime's. */
export const ENGINE_UNKNOWN_SENTINELS: readonly string[] = [
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (every computed value the engine marshals)
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
];
export const MOCK_COMPUTED = "(computed)";

const unknownStrings = new Set<string>([...ENGINE_UNKNOWN_SENTINELS, MOCK_COMPUTED]);

export function isUnknown(v: unknown): v is Unknown {
  return v === UNKNOWN;
}

/** A deep copy with every unknown sentinel replaced by UNKNOWN. */
export function withUnknowns(value: unknown): unknown {
  if (typeof value === "string") return unknownStrings.has(value) ? UNKNOWN : value;
  if (Array.isArray(value)) return value.map(withUnknowns);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, withUnknowns(v)]));
  }
  return value;
}

/** Read a nested property (`a.b.c`): undefined when absent, UNKNOWN when it or a parent is unknown. */
export function prop(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    if (cur === UNKNOWN) return UNKNOWN;
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A known number, else undefined (absent or unknown). */
export function num(obj: unknown, path: string): number | undefined {
  const v = prop(obj, path);
  return typeof v === "number" ? v : undefined;
}

/** A known string, else undefined (absent or unknown). */
export function str(obj: unknown, path: string): string | undefined {
  const v = prop(obj, path);
  return typeof v === "string" ? v : undefined;
}

/** Present in the inputs, known or not (an unknown id still says a reference was set). */
export function present(obj: unknown, path: string): boolean {
  const v = prop(obj, path);
  if (Array.isArray(v)) return v.length > 0;
  return v !== undefined && v !== null;
}
