/**
 * Custom resources validated against the CustomResourceDefinitions their operators install, vendored verbatim
 * (Helm template lines removed) under test/testdata/crds/: approver-policy's CertificateRequestPolicy and
 * SPIRE's ClusterSPIFFEID / ClusterFederatedTrustDomain / ClusterStaticEntry. The API server validates a
 * custom resource against `openAPIV3Schema`; with strict field validation (kubectl's default) an unknown field
 * is an error, so every object schema that lists its properties and does not preserve unknown fields is closed.
 */
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { Ajv } from "ajv";

const DIR = fileURLToPath(new URL("../../testdata/crds/", import.meta.url));

interface CrdVersion {
  name: string;
  served: boolean;
  schema: { openAPIV3Schema: Record<string, unknown> };
}
interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

/** Close every object schema that names its properties, as strict field validation does. */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (typeof schema !== "object" || schema === null) return schema;
  const s = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === "properties" ? Object.fromEntries(Object.entries(v as object).map(([p, x]) => [p, strict(x)])) : strict(v)]));
  if (s["properties"] && s["additionalProperties"] === undefined && !s["x-kubernetes-preserve-unknown-fields"]) s["additionalProperties"] = false;
  return s;
}

type Validate = ReturnType<Ajv["compile"]>;
let validators: Map<string, Validate> | undefined;

function load(): Map<string, Validate> {
  if (validators) return validators;
  validators = new Map();
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  for (const sub of readdirSync(DIR)) {
    for (const file of readdirSync(join(DIR, sub)).filter((f) => f.endsWith(".yaml"))) {
      for (const doc of parseAllDocuments(readFileSync(join(DIR, sub, file), "utf8"))) {
        const crd = doc.toJS() as Crd | null;
        if (crd?.kind !== "CustomResourceDefinition") continue;
        for (const v of crd.spec.versions.filter((x) => x.served)) {
          const schema = strict(v.schema.openAPIV3Schema) as Record<string, unknown>;
          // metadata is the API server's ObjectMeta, not the CRD's to describe.
          (schema["properties"] as Record<string, unknown>)["metadata"] = { type: "object" };
          validators.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, ajv.compile(schema));
        }
      }
    }
  }
  return validators;
}

/** `group/version/Kind` of every vendored CRD version that is served. */
export function vendoredKinds(): string[] {
  return [...load().keys()].sort();
}

/** Problems with a custom resource against its vendored CRD, or undefined when there is no such CRD. */
export function crdProblems(resource: { apiVersion: string; kind: string }): string[] | undefined {
  const validate = load().get(`${resource.apiVersion}/${resource.kind}`);
  if (!validate) return undefined;
  if (validate(resource)) return [];
  return (validate.errors ?? []).map((e) => {
    const extra = e.keyword === "additionalProperties" ? ` (${String((e.params as { additionalProperty: string }).additionalProperty)})` : "";
    return `${e.instancePath || "/"}: ${e.message ?? e.keyword}${extra}`;
  });
}
