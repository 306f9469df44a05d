/**
 * Helm values checked the way the pinned chart reads them (test/testdata/charts/README.md says where each
 * file comes from). A chart that ships `values.schema.json` is checked as Helm does: chart defaults merged
 * with our values (maps merge, everything else replaces), then validated against the schema. A chart without
 * one is checked against the keys its values.yaml and templates read at the pinned tag: every path we set must
 * be one of them, or lie under a free-form path (a default of `{}`, a list or null, or a map the templates
 * `toYaml`/`range` over). Istio's `meshConfig` is rendered verbatim into the mesh ConfigMap, so it is checked
 * against the MeshConfig protobuf fields of istio/api at the matching tag.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { Ajv, type ErrorObject } from "ajv";

const DATA = fileURLToPath(new URL("../../testdata/charts/", import.meta.url));
const json = <T>(file: string): T => JSON.parse(readFileSync(DATA + file, "utf8")) as T;
const yaml = (file: string): Record<string, unknown> => (parseYaml(readFileSync(DATA + file, "utf8")) as Record<string, unknown>) ?? {};

type Values = Record<string, unknown>;
const isMap = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

/** Helm's coalescing: user maps merge into default maps; any other user value replaces the default; null deletes. */
export function coalesce(defaults: Values, user: Values): Values {
  const out: Values = { ...defaults };
  for (const [k, v] of Object.entries(user)) {
    if (v === null) delete out[k];
    else out[k] = isMap(v) && isMap(out[k]) ? coalesce(out[k] as Values, v) : v;
  }
  return out;
}

/** Problems with `values` for a schema-carrying chart, as `path: message` lines (empty when Helm accepts them). */
export function schemaProblems(schemaFile: string, defaultsFile: string, values: Values): string[] {
  const validate = schemaValidator(schemaFile);
  const merged = coalesce(yaml(defaultsFile), values);
  if (validate(merged)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => {
    const extra = e.keyword === "additionalProperties" ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : "";
    return `${e.instancePath || "/"}: ${e.message ?? e.keyword}${extra}`;
  });
}

const validators = new Map<string, ReturnType<Ajv["compile"]>>();
function schemaValidator(file: string): ReturnType<Ajv["compile"]> {
  let v = validators.get(file);
  if (!v) {
    // Helm's validator ignores unknown formats and `$schema` dialect URIs like "http://json-schema.org/schema#".
    const schema = json<Record<string, unknown>>(file);
    delete schema["$schema"];
    v = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
    validators.set(file, v);
  }
  return v;
}

/** Keys derived from a chart's values.yaml and templates at a tag (see the README for the method). */
interface ChartKeys {
  tag: string;
  commit: string;
  keys: string[][];
  open: string[][];
}

/** Protobuf message fields (JSON names) from istio/api: a field is a type name, `{list}` or `{map}`. */
interface ProtoFields {
  root: string;
  messages: Record<string, Record<string, string | { list: string } | { map: string }>>;
}

const SCALARS = new Set(["string", "bool", "int", "number", "duration", "enum", "any", "int32", "uint32", "int64", "uint64", "double", "float", "bytes", "sint32", "fixed32"]);

function protoProblems(proto: ProtoFields, type: string, value: unknown, path: string): string[] {
  const fields = proto.messages[type];
  if (!fields || SCALARS.has(type)) return [];
  if (!isMap(value)) return [`${path}: expected a ${type} message`];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const f = fields[k];
    if (f === undefined) {
      out.push(`${path}.${k}: not a field of ${type}`);
      continue;
    }
    if (typeof f === "string") out.push(...protoProblems(proto, f, v, `${path}.${k}`));
    else if ("list" in f) (Array.isArray(v) ? v : [v]).forEach((x, i) => out.push(...protoProblems(proto, f.list, x, `${path}.${k}[${i}]`)));
    else if (isMap(v)) for (const [mk, mv] of Object.entries(v)) out.push(...protoProblems(proto, f.map, mv, `${path}.${k}.${mk}`));
  }
  return out;
}

/** Problems with `values` for a chart checked by derived keys; `typed` maps a top-level key to a proto message. */
export function keyProblems(keysFile: string, values: Values, typed: Record<string, { file: string }> = {}): string[] {
  const { keys, open } = json<ChartKeys>(keysFile);
  const known = new Set(keys.map((k) => k.join("\u0000")));
  const free = new Set(open.map((k) => k.join("\u0000")));
  const out: string[] = [];
  const walk = (prefix: string[], v: Values) => {
    for (const [k, x] of Object.entries(v)) {
      const path = [...prefix, k];
      const id = path.join("\u0000");
      if (path.length === 1 && typed[k]) {
        const proto = json<ProtoFields>(typed[k].file);
        out.push(...protoProblems(proto, proto.root, x, k));
        continue;
      }
      if (free.has(id)) continue;
      if (!known.has(id) && !free.has(id)) {
        out.push(`${path.join(".")}: not a value the chart reads`);
        continue;
      }
      if (isMap(x)) walk(path, x);
    }
  };
  walk([], values);
  return out;
}

/** The tag and commit a derived key list was taken from. */
export function keysSource(keysFile: string): { tag: string; commit: string } {
  const { tag, commit } = json<ChartKeys>(keysFile);
  return { tag, commit };
}
