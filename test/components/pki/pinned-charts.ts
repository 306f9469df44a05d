/**
 * Every chart the estate may install, at the exact version it pins, with the check its values must pass.
 * A Release whose repo/chart/version is not listed here fails the chart-values test: a new chart or a bumped
 * pin needs its schema (or derived keys) vendored under test/testdata/charts first.
 */
import { keyProblems, schemaProblems } from "./chart-values.js";

type Values = Record<string, unknown>;

export interface PinnedChart {
  repo: string;
  chart: string;
  version: string;
  /** How the values are checked: the chart's own schema, or the keys derived from its sources. */
  checkedBy: "values.schema.json" | "derived keys" | "derived keys + subchart schema";
  problems(values: Values): string[];
}

const JETSTACK = "https://charts.jetstack.io";
const SPIFFE = "https://spiffe.github.io/helm-charts-hardened/";
const ISTIO = "https://istio-release.storage.googleapis.com/charts";
const ENIX = "https://charts.enix.io";

/** SPIRE's umbrella: derived keys for every subchart, and spire-agent's own schema for its values (plus globals). */
function spireProblems(values: Values): string[] {
  const out = keyProblems("spire-0.27.0/spire.keys.json", values);
  const agent = { ...((values["spire-agent"] as Values | undefined) ?? {}), ...(values["global"] ? { global: values["global"] } : {}) };
  out.push(...schemaProblems("spire-0.27.0/spire-agent.values.schema.json", "spire-0.27.0/spire-agent.values.yaml", agent).map((p) => `spire-agent${p}`));
  return out;
}

export const PINNED_CHARTS: PinnedChart[] = [
  {
    repo: JETSTACK,
    chart: "cert-manager",
    version: "v1.19.1",
    checkedBy: "values.schema.json",
    problems: (v) => schemaProblems("cert-manager-v1.19.1/values.schema.json", "cert-manager-v1.19.1/values.yaml", v),
  },
  {
    repo: JETSTACK,
    chart: "cert-manager-approver-policy",
    version: "v0.22.2",
    checkedBy: "values.schema.json",
    problems: (v) => schemaProblems("cert-manager-approver-policy-v0.22.2/values.schema.json", "cert-manager-approver-policy-v0.22.2/values.yaml", v),
  },
  {
    repo: ENIX,
    chart: "x509-certificate-exporter",
    version: "4.2.0",
    checkedBy: "values.schema.json",
    problems: (v) => schemaProblems("x509-certificate-exporter-4.2.0/values.schema.json", "x509-certificate-exporter-4.2.0/values.yaml", v),
  },
  { repo: SPIFFE, chart: "spire-crds", version: "0.5.0", checkedBy: "derived keys", problems: (v) => keyProblems("spire-crds-0.5.0/spire-crds.keys.json", v) },
  { repo: SPIFFE, chart: "spire", version: "0.27.0", checkedBy: "derived keys + subchart schema", problems: spireProblems },
  { repo: ISTIO, chart: "base", version: "1.28.0", checkedBy: "derived keys", problems: (v) => keyProblems("istio-1.28.0/base.keys.json", v) },
  {
    repo: ISTIO,
    chart: "istiod",
    version: "1.28.0",
    checkedBy: "derived keys",
    problems: (v) => keyProblems("istio-1.28.0/istiod.keys.json", v, { meshConfig: { file: "istio-1.28.0/meshconfig.fields.json" } }),
  },
  { repo: ISTIO, chart: "cni", version: "1.28.0", checkedBy: "derived keys", problems: (v) => keyProblems("istio-1.28.0/cni.keys.json", v) },
  {
    repo: ISTIO,
    chart: "gateway",
    version: "1.28.0",
    checkedBy: "values.schema.json",
    problems: (v) => schemaProblems("istio-1.28.0/gateway.values.schema.json", "istio-1.28.0/gateway.values.yaml", v),
  },
];

const norm = (repo: string) => repo.replace(/\/+$/, "");

export function pinnedChart(repo: string, chart: string, version: string): PinnedChart | undefined {
  return PINNED_CHARTS.find((c) => norm(c.repo) === norm(repo) && c.chart === chart && c.version === version);
}
