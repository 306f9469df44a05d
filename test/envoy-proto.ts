/**
 * Envoy's own API definitions as the judge of the Envoy configuration Meridian renders (EnvoyFilter patch
 * values and their typed_config). The protos are the complete Envoy API tree @grpc/grpc-js-xds ships (with
 * the xds/udpa, protoc-gen-validate and googleapis protos they import), loaded with protobufjs. A value is
 * checked with proto3 JSON mapping, as istiod parses an EnvoyFilter patch before it reaches Envoy: an
 * unknown field, a wrong type, an unknown enum value, a malformed Duration, two members of one oneof, or an
 * Any whose @type names no message is an error naming the path.
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

function checkMessage(root: protobuf.Root, type: protobuf.Type, v: unknown, path: string): void {
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
    return checkMessage(root, inner, rest, path);
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
      if (f.resolvedType instanceof protobuf.Type) checkMessage(root, f.resolvedType, x, p);
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
  }
}

const roots = new Map<string, protobuf.Root>();

/** Check `json` as the Envoy message `typeName` (e.g. envoy.config.route.v3.VirtualHost) from `files`; throws naming what is wrong. */
export function checkEnvoyJson(files: readonly string[], typeName: string, json: unknown): void {
  const key = files.join(",");
  let root = roots.get(key);
  if (!root) roots.set(key, (root = load(files)));
  checkMessage(root, root.lookupType(typeName), json, typeName.split(".").at(-1)!);
}
