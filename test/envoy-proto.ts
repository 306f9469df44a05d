/**
 * Envoy's own API definitions as the judge of the Envoy configuration Meridian renders (EnvoyFilter patch
 * values and their typed_config). The protos are the complete Envoy API tree @grpc/grpc-js-xds ships (with
 * the xds/udpa, protoc-gen-validate and googleapis protos they import), loaded with protobufjs. A value is
 * checked with proto3 JSON mapping, as istiod parses an EnvoyFilter patch before it reaches Envoy: an
 * unknown field, a wrong type, an unknown enum value, a malformed Duration, two members of one oneof, or an
 * Any whose @type names no message is an error naming the path. So is a value Envoy's protoc-gen-validate
 * rules refuse (Envoy validates every config it loads): a required message missing, a string shorter than
 * min_len or not `in` its list, a number or Duration out of its gt/gte/lt/lte bounds, too few or too many
 * items, an enum number not defined.
 */
import { accessSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);
const DEPS = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
// protobufjs's own copy of descriptor.proto (its `common` covers the other well-known types).
const ROOTS = [...["envoy-api", "xds", "protoc-gen-validate", "googleapis"].map((d) => join(DEPS, d)), dirname(require.resolve("protobufjs/package.json"))];

function load(files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target in protobuf.common) return target;
    for (const r of ROOTS) {
      try {
        accessSync(join(r, target));
        return join(r, target);
      } catch {
        /* next root */
      }
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

const INT = /^-?\d+$/;
const UINT = /^\d+$/;
const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const WRAPPERS: Record<string, string> = {
  ".google.protobuf.DoubleValue": "double",
  ".google.protobuf.FloatValue": "float",
  ".google.protobuf.Int64Value": "int64",
  ".google.protobuf.UInt64Value": "uint64",
  ".google.protobuf.Int32Value": "int32",
  ".google.protobuf.UInt32Value": "uint32",
  ".google.protobuf.BoolValue": "bool",
  ".google.protobuf.StringValue": "string",
  ".google.protobuf.BytesValue": "bytes",
};

function scalar(kind: string, v: unknown, path: string): void {
  const fail = (want: string) => {
    throw new Error(`${path}: expected ${want} (${kind}), got ${JSON.stringify(v)}`);
  };
  switch (kind) {
    case "string":
      if (typeof v !== "string") fail("a string");
      return;
    case "bool":
      if (typeof v !== "boolean") fail("true or false");
      return;
    case "bytes":
      if (typeof v !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) fail("base64");
      return;
    case "double":
    case "float":
      if (typeof v !== "number" && !["NaN", "Infinity", "-Infinity"].includes(v as string)) fail("a number");
      return;
    default: {
      const unsigned = kind.startsWith("u") || kind.startsWith("fixed");
      const ok = (typeof v === "number" && Number.isInteger(v) && (!unsigned || v >= 0)) || (typeof v === "string" && (unsigned ? UINT : INT).test(v));
      if (!ok) fail(unsigned ? "a non-negative integer" : "an integer");
    }
  }
}

type Rules = Record<string, Record<string, unknown> | undefined>;

/** A field's (validate.rules), as protobufjs parsed them. */
function rulesOf(f: protobuf.Field): Rules | undefined {
  const po = (f.parsedOptions as Record<string, unknown>[] | null | undefined)?.find((o) => "(validate.rules)" in o);
  return po?.["(validate.rules)"] as Rules | undefined;
}

const seconds = (d: unknown): number => {
  if (typeof d === "string") return Number(d.slice(0, -1));
  const { seconds: s = 0, nanos: n = 0 } = d as { seconds?: number; nanos?: number };
  return Number(s) + Number(n) / 1e9;
};

function bounds(r: Record<string, unknown>, x: number, show: (b: unknown) => string, path: string, conv: (b: unknown) => number = Number): void {
  const fail = (op: string, b: unknown) => {
    throw new Error(`${path}: ${show(x)} violates Envoy's validation rule ${op} ${show(b)}`);
  };
  if (r["gt"] !== undefined && !(x > conv(r["gt"]))) fail(">", r["gt"]);
  if (r["gte"] !== undefined && !(x >= conv(r["gte"]))) fail("≥", r["gte"]);
  if (r["lt"] !== undefined && !(x < conv(r["lt"]))) fail("<", r["lt"]);
  if (r["lte"] !== undefined && !(x <= conv(r["lte"]))) fail("≤", r["lte"]);
}

/** protoc-gen-validate's rules on one present, well-typed value (a subset: what Envoy's filters use most). */
function checkRules(rules: Rules, f: protobuf.Field, v: unknown, path: string): void {
  const s = rules["string"];
  if (s && typeof v === "string") {
    if (s["min_len"] !== undefined && [...v].length < Number(s["min_len"])) throw new Error(`${path}: ${JSON.stringify(v)} is shorter than Envoy's min_len ${String(s["min_len"])}`);
    if (s["max_len"] !== undefined && [...v].length > Number(s["max_len"])) throw new Error(`${path}: ${JSON.stringify(v)} is longer than Envoy's max_len ${String(s["max_len"])}`);
    const within = s["in"] === undefined ? undefined : ([] as unknown[]).concat(s["in"]);
    if (within && !within.includes(v)) throw new Error(`${path}: ${JSON.stringify(v)} is not one of ${JSON.stringify(within)}`);
  }
  const d = rules["duration"];
  if (d && typeof v === "string") bounds(d, seconds(v), (b) => (typeof b === "number" ? `${b}s` : `${seconds(b)}s`), path, seconds);
  for (const kind of ["uint32", "uint64", "int32", "int64", "double", "float", "fixed32", "fixed64", "sint32", "sint64"]) {
    const n = rules[kind];
    if (n && (typeof v === "number" || typeof v === "string")) bounds(n, Number(v), String, path);
  }
  const e = rules["enum"];
  if (e?.["defined_only"] && typeof v === "number" && f.resolvedType instanceof protobuf.Enum && !Object.values(f.resolvedType.values).includes(v)) {
    throw new Error(`${path}: ${v} is not a defined value of ${f.resolvedType.fullName.slice(1)}`);
  }
}

function checkMessage(root: protobuf.Root, type: protobuf.Type, v: unknown, path: string, partial: boolean): void {
  const name = type.fullName;
  if (name in WRAPPERS) return scalar(WRAPPERS[name]!, v, path);
  if (name === ".google.protobuf.Duration") {
    if (typeof v !== "string" || !DURATION.test(v)) throw new Error(`${path}: expected a Duration such as "0.05s", got ${JSON.stringify(v)}`);
    return;
  }
  if (name === ".google.protobuf.Struct" || name === ".google.protobuf.Value") return;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${path}: expected an object (${name.slice(1)}), got ${JSON.stringify(v)}`);
  const obj = v as Record<string, unknown>;
  if (name === ".google.protobuf.Any") {
    const url = obj["@type"];
    if (typeof url !== "string" || !url.startsWith("type.googleapis.com/")) throw new Error(`${path}.@type: expected type.googleapis.com/<message>, got ${JSON.stringify(url)}`);
    const inner = root.lookupType(url.slice("type.googleapis.com/".length));
    const { "@type": _, ...rest } = obj;
    return checkMessage(root, inner, rest, path, partial);
  }
  const byJson = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) {
    byJson.set(f.name, f);
    byJson.set(
      f.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()),
      f,
    );
  }
  const oneofs = new Map<string, string>();
  for (const [key, value] of Object.entries(obj)) {
    const f = byJson.get(key);
    if (!f) throw new Error(`${path}.${key}: ${name.slice(1)} has no field ${key}`);
    const at = `${path}.${key}`;
    if (f.partOf && value !== null) {
      const other = oneofs.get(f.partOf.name);
      if (other) throw new Error(`${at}: oneof ${f.partOf.name} already set by ${other}`);
      oneofs.set(f.partOf.name, key);
    }
    if (value === null) continue;
    const one = (x: unknown, p: string) => {
      if (f.resolvedType instanceof protobuf.Type) checkMessage(root, f.resolvedType, x, p, partial);
      else if (f.resolvedType instanceof protobuf.Enum) {
        if (!(typeof x === "string" ? x in f.resolvedType.values : Number.isInteger(x))) throw new Error(`${p}: ${JSON.stringify(x)} is not a value of ${f.resolvedType.fullName.slice(1)}`);
      } else scalar(f.type, x, p);
    };
    if (f instanceof protobuf.MapField) {
      if (typeof value !== "object" || Array.isArray(value)) throw new Error(`${at}: expected a map`);
      for (const [k, x] of Object.entries(value as object)) one(x, `${at}[${k}]`);
    } else if (f.repeated) {
      if (!Array.isArray(value)) throw new Error(`${at}: expected a list`);
      value.forEach((x, i) => one(x, `${at}[${i}]`));
    } else one(value, at);
    const rules = rulesOf(f);
    if (!rules) continue;
    const rep = rules["repeated"];
    if (rep && Array.isArray(value)) {
      if (rep["min_items"] !== undefined && value.length < Number(rep["min_items"])) throw new Error(`${at}: ${value.length} items, Envoy requires at least ${String(rep["min_items"])}`);
      if (rep["max_items"] !== undefined && value.length > Number(rep["max_items"])) throw new Error(`${at}: ${value.length} items, Envoy allows at most ${String(rep["max_items"])}`);
    } else if (!f.repeated && !(f instanceof protobuf.MapField)) checkRules(rules, f, value, at);
  }
  for (const f of type.fieldsArray) {
    if (partial || !rulesOf(f)?.["message"]?.["required"]) continue;
    const present = [f.name, f.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())].some((k) => obj[k] !== undefined && obj[k] !== null);
    if (!present) throw new Error(`${path}.${f.name}: required by Envoy's validation rules, missing`);
  }
}

const roots = new Map<string, protobuf.Root>();

/**
 * Check `json` as the Envoy message `typeName` (e.g. envoy.config.route.v3.VirtualHost) from `files`; throws naming
 * what is wrong. `partial`: a MERGE patch's fragment, whose required fields the object it merges into carries.
 */
export function checkEnvoyJson(files: readonly string[], typeName: string, json: unknown, opts: { partial?: boolean } = {}): void {
  const key = files.join(",");
  let root = roots.get(key);
  if (!root) roots.set(key, (root = load(files)));
  checkMessage(root, root.lookupType(typeName), json, typeName.split(".").at(-1)!, opts.partial ?? false);
}
