/**
 * Kubernetes rules: what the API server refuses (its OpenAPI schema, via `kubernetes-models`, and the
 * semantic checks of k8s.io/kubernetes/pkg/apis/*\/validation), in the API server's own field-error words.
 */
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import type { RecordedResource } from "../mock-runtime.js";
import { arr, at, fieldError, inputs, known, obj, str, type ProviderRule } from "./rule.js";

const K8S = "https://github.com/kubernetes/kubernetes/blob/master";
const APIMACHINERY = "https://github.com/kubernetes/apimachinery/blob/master/pkg/util/validation/validation.go";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Validatable;

const MODELS: Record<string, ModelClass> = {
  "kubernetes:core/v1:ConfigMap": ConfigMap as unknown as ModelClass,
  "kubernetes:core/v1:Namespace": Namespace as unknown as ModelClass,
  "kubernetes:core/v1:Secret": Secret as unknown as ModelClass,
  "kubernetes:core/v1:Service": Service as unknown as ModelClass,
  "kubernetes:core/v1:ServiceAccount": ServiceAccount as unknown as ModelClass,
  "kubernetes:apps/v1:DaemonSet": DaemonSet as unknown as ModelClass,
  "kubernetes:apps/v1:Deployment": Deployment as unknown as ModelClass,
  "kubernetes:apps/v1:StatefulSet": StatefulSet as unknown as ModelClass,
  "kubernetes:batch/v1:CronJob": CronJob as unknown as ModelClass,
  "kubernetes:batch/v1:Job": Job as unknown as ModelClass,
  "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": HorizontalPodAutoscaler as unknown as ModelClass,
  "kubernetes:policy/v1:PodDisruptionBudget": PodDisruptionBudget as unknown as ModelClass,
  "kubernetes:networking.k8s.io/v1:NetworkPolicy": NetworkPolicy as unknown as ModelClass,
  "kubernetes:rbac.authorization.k8s.io/v1:Role": Role as unknown as ModelClass,
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": RoleBinding as unknown as ModelClass,
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ClusterRoleBinding as unknown as ModelClass,
};
const WORKLOADS = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"];

const kindOf = (r: RecordedResource) => r.type.split(":").pop() ?? r.type;
const nameOf = (r: RecordedResource) => str(at(inputs(r), "metadata.name")) ?? r.name;

/** The pod template of a workload (a CronJob's sits one level deeper), with its field path. */
export function podTemplate(r: RecordedResource): { path: string; template: Record<string, unknown> } | undefined {
  const p = inputs(r);
  if (r.type === "kubernetes:batch/v1:CronJob") return { path: "spec.jobTemplate.spec.template", template: obj(at(p, "spec.jobTemplate.spec.template")) };
  if (WORKLOADS.includes(r.type)) return { path: "spec.template", template: obj(at(p, "spec.template")) };
  return undefined;
}

/**
 * Replace unknowns by a placeholder string and note where they were (JSON pointers), so schema errors
 * about a value the cloud has not assigned yet (a whole Secret `stringData` from an output) are ignored.
 */
function withoutUnknowns(value: unknown, path: string, unknownAt: string[]): unknown {
  if (!known(value) && typeof value === "string") {
    unknownAt.push(path);
    return "computed";
  }
  if (Array.isArray(value)) return value.map((v, i) => withoutUnknowns(v, `${path}/${i}`, unknownAt));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutUnknowns(v, `${path}/${k}`, unknownAt)]));
  return value;
}

interface SchemaError {
  instancePath: string;
  message?: string;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const kubernetesRules: ProviderRule[] = [
  {
    id: "kubernetes-schema",
    provider: "kubernetes",
    types: Object.keys(MODELS),
    summary: "Every built-in object matches the API server's OpenAPI schema (field names, types, required fields)",
    source: "https://github.com/kubernetes/kubernetes/tree/master/api/openapi-spec (checked with kubernetes-models)",
    check(r) {
      const Model = MODELS[r.type];
      if (Model === undefined) return [];
      const unknownAt: string[] = [];
      const data = withoutUnknowns(inputs(r), "", unknownAt) as Record<string, unknown>;
      try {
        new Model(data).validate();
        return [];
      } catch (err) {
        const errors = ((err as { errors?: SchemaError[] }).errors ?? [{ instancePath: "", message: String(err) }]).filter(
          (e) => !unknownAt.some((u) => e.instancePath === u || e.instancePath.startsWith(`${u}/`)),
        );
        return errors.map((e) => `${kindOf(r)} "${nameOf(r)}" is invalid: ${e.instancePath.slice(1).replaceAll("/", ".") || "(root)"}: ${e.message ?? "invalid"}`);
      }
    },
  },
  {
    id: "kubernetes-object-name",
    provider: "kubernetes",
    types: Object.keys(MODELS),
    summary: "Names are RFC 1123 subdomains (Namespaces RFC 1123 labels, Services RFC 1035 labels)",
    source: APIMACHINERY,
    check(r) {
      const name = str(at(inputs(r), "metadata.name"));
      if (name === undefined) return [];
      if (r.type === "kubernetes:core/v1:Service" && (!DNS1035_LABEL.test(name) || name.length > 63)) {
        return [
          fieldError(
            kindOf(r),
            name,
            "metadata.name",
            `Invalid value: "${name}": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
          ),
        ];
      }
      if (r.type === "kubernetes:core/v1:Namespace" && (!DNS1123_LABEL.test(name) || name.length > 63)) {
        return [
          fieldError(
            kindOf(r),
            name,
            "metadata.name",
            `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
          ),
        ];
      }
      if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
        return [
          fieldError(
            kindOf(r),
            name,
            "metadata.name",
            `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
          ),
        ];
      }
      return [];
    },
  },
  {
    id: "kubernetes-labels",
    provider: "kubernetes",
    types: Object.keys(MODELS),
    summary: "Label values are at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending alphanumeric",
    source: APIMACHINERY,
    check(r) {
      const out: string[] = [];
      const labelsAt = [
        ["metadata.labels", at(inputs(r), "metadata.labels")],
        ...(podTemplate(r) ? [[`${podTemplate(r)!.path}.metadata.labels`, at(podTemplate(r)!.template, "metadata.labels")]] : []),
      ] as const;
      for (const [path, labels] of labelsAt) {
        for (const [k, v] of Object.entries(obj(labels))) {
          if (typeof v !== "string" || !known(v)) continue;
          if (v.length > 63 || !LABEL_VALUE.test(v))
            out.push(
              fieldError(
                kindOf(r),
                nameOf(r),
                `${path}`,
                `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (label ${k}; at most 63 characters)`,
              ),
            );
        }
      }
      return out;
    },
  },
  {
    id: "kubernetes-selector-matches-template",
    provider: "kubernetes",
    types: ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:StatefulSet"],
    summary: "A workload's selector matches its pod template's labels",
    source: `${K8S}/pkg/apis/apps/validation/validation.go (ValidateDeploymentSpec)`,
    check(r) {
      const selector = obj(at(inputs(r), "spec.selector.matchLabels"));
      const labels = obj(at(inputs(r), "spec.template.metadata.labels"));
      const ok = Object.entries(selector).every(([k, v]) => !known(v) || labels[k] === v);
      return ok ? [] : [fieldError(kindOf(r), nameOf(r), "spec.template.metadata.labels", `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``)];
    },
  },
  {
    id: "kubernetes-job-restart-policy",
    provider: "kubernetes",
    types: ["kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"],
    summary: "A Job's pods restart OnFailure or Never",
    source: `${K8S}/pkg/apis/batch/validation/validation.go (validateJobSpec)`,
    check(r) {
      const t = podTemplate(r)!;
      const policy = str(at(t.template, "spec.restartPolicy"));
      if (policy === "OnFailure" || policy === "Never") return [];
      const detail = policy === undefined ? 'Required value: valid values: "OnFailure", "Never"' : `Unsupported value: "${policy}": supported values: "OnFailure", "Never"`;
      return [fieldError(kindOf(r), nameOf(r), `${t.path}.spec.restartPolicy`, detail)];
    },
  },
  {
    id: "kubernetes-volume-mounts",
    provider: "kubernetes",
    types: WORKLOADS,
    summary: "Every volumeMount names a volume of the pod (or a StatefulSet's claim template); container port names are IANA service names of at most 15 characters",
    source: `${K8S}/pkg/apis/core/validation/validation.go (validateVolumeMounts, validateContainerPorts)`,
    check(r) {
      const t = podTemplate(r)!;
      const spec = obj(t.template["spec"]);
      const volumes = new Set(arr(spec["volumes"]).map((v) => obj(v)["name"]));
      // A StatefulSet's pods also get a volume per claim template, named after it (the controller adds them).
      if (r.type === "kubernetes:apps/v1:StatefulSet") for (const c of arr(at(inputs(r), "spec.volumeClaimTemplates"))) volumes.add(obj(obj(c)["metadata"])["name"]);
      const out: string[] = [];
      for (const group of ["initContainers", "containers"]) {
        arr(spec[group]).forEach((c, i) => {
          arr(obj(c)["volumeMounts"]).forEach((m, j) => {
            const name = obj(m)["name"];
            if (!volumes.has(name)) out.push(fieldError(kindOf(r), nameOf(r), `${t.path}.spec.${group}[${i}].volumeMounts[${j}].name`, `Not found: "${String(name)}"`));
          });
          arr(obj(c)["ports"]).forEach((port, j) => {
            const name = obj(port)["name"];
            if (typeof name === "string" && (name.length > 15 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) || !/[a-z]/.test(name))) {
              out.push(
                fieldError(
                  kindOf(r),
                  nameOf(r),
                  `${t.path}.spec.${group}[${i}].ports[${j}].name`,
                  `Invalid value: "${name}": must be no more than 15 characters and contain only lower case alphanumerics or '-' (an IANA_SVC_NAME)`,
                ),
              );
            }
          });
        });
      }
      return out;
    },
  },
  {
    id: "kubernetes-config-keys",
    provider: "kubernetes",
    types: ["kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret"],
    summary: "ConfigMap and Secret keys consist of alphanumerics, '-', '_' or '.'; a ConfigMap holds at most 1 MiB",
    source: `${K8S}/pkg/apis/core/validation/validation.go (ValidateConfigMap, IsConfigMapKey)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const data = { ...obj(p["data"]), ...obj(p["stringData"]), ...obj(p["binaryData"]) };
      for (const key of Object.keys(data)) {
        if (!CONFIG_KEY.test(key) || key.length > 253) {
          out.push(
            fieldError(
              kindOf(r),
              nameOf(r),
              `data[${key}]`,
              `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
            ),
          );
        }
      }
      if (r.type === "kubernetes:core/v1:ConfigMap") {
        const size = Object.entries(data).reduce((s, [k, v]) => s + k.length + (typeof v === "string" ? Buffer.byteLength(v) : 0), 0);
        if (size > 1024 * 1024) out.push(fieldError(kindOf(r), nameOf(r), "[]", `Too long: must have at most 1048576 bytes (has ${size})`));
      }
      return out;
    },
  },
  {
    id: "kubernetes-service-account-token",
    provider: "kubernetes",
    types: ["kubernetes:core/v1:Secret"],
    summary: "A kubernetes.io/service-account-token Secret names its ServiceAccount (annotation kubernetes.io/service-account.name)",
    source: `${K8S}/pkg/apis/core/validation/validation.go (ValidateSecret, SecretTypeServiceAccountToken)`,
    check(r) {
      const p = inputs(r);
      if (p["type"] !== "kubernetes.io/service-account-token") return [];
      const name = obj(at(p, "metadata.annotations"))["kubernetes.io/service-account.name"];
      return typeof name === "string" && name !== "" ? [] : [fieldError(kindOf(r), nameOf(r), "metadata.annotations[kubernetes.io/service-account.name]", "Required value")];
    },
  },
];
