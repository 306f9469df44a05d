/**
 * Reading stack config: a `Pulumi.<stack>.yaml` file (for the offline CLI and tests) or a flat
 * `meridian:<key>` map (what the Pulumi program sees), parsed with the one schema into an EstateConfig.
 * Secure values (`{secure: ...}`) stay opaque here: the program reads them through pulumi.Config.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { CONFIG_NAMESPACE, StackConfigError, describeValue, keyPath, problemsFromZod } from "../model/config/errors.js";
import { semanticProblems } from "./semantic.js";
import { crossChecks, estateSchema, type EstateConfig } from "../model/config/index.js";

/**
 * Where stack files live: this folder, or MERIDIAN_STACKS_DIR (tests point it at a scratch copy). Read at each
 * call, so tests that run a command in their own process can point it elsewhere per case.
 */
const stacksDir = () => process.env["MERIDIAN_STACKS_DIR"] ?? fileURLToPath(new URL(".", import.meta.url));

export function stackFile(stack: string): string {
  return join(stacksDir(), `Pulumi.${stack}.yaml`);
}

export function listStacks(): string[] {
  return readdirSync(stacksDir())
    .map((f) => /^Pulumi\.([a-z0-9-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The raw `config:` map of a stack file, keys as written (`meridian:regions`, `aws:region`, ...). */
export function readStackConfigMap(stack: string): Record<string, unknown> {
  const file = stackFile(stack);
  const shown = displayPath(file);
  if (!/^[a-z0-9-]+$/.test(stack) || !existsSync(file)) {
    throw new StackConfigError(shown, [{ keyPath: "--stack", value: JSON.stringify(stack), expected: `no such stack; expected one of ${listStacks().join(", ")}` }]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new StackConfigError(shown, [{ keyPath: "(file)", value: "unparsable YAML", expected: (err as Error).message }]);
  }
  const config = (doc as { config?: unknown } | null)?.config;
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new StackConfigError(shown, [{ keyPath: "config", value: JSON.stringify(config), expected: "expected a map of config keys" }]);
  }
  return config as Record<string, unknown>;
}

/** Parse a flat config map (`meridian:<key>` → value) into the estate config, or throw every problem. */
export function parseEstateConfig(configMap: Record<string, unknown>, source: string): EstateConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configMap)) {
    if (key.startsWith(prefix) && !isSecure(value)) raw[key.slice(prefix.length)] = value;
  }
  // Secret keys (kubeconfigs, API tokens) are not part of the schema; they are read by name.
  for (const key of Object.keys(raw)) if (isSecretKeyName(key)) delete raw[key];
  const result = estateSchema.safeParse(raw, { reportInput: true });
  const problems = [...(result.success ? [] : problemsFromZod(result.error)), ...crossChecks(raw).map((i) => ({ keyPath: keyPath(i.path), value: describeValue(i.input), expected: i.message }))];
  if (problems.length > 0 || !result.success) throw new StackConfigError(source, problems);
  const semantic = semanticProblems(result.data);
  if (semantic.length > 0) throw new StackConfigError(source, semantic);
  return result.data;
}

export function loadStack(stack: string): EstateConfig {
  return parseEstateConfig(readStackConfigMap(stack), displayPath(stackFile(stack)));
}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && "secure" in value;
}

/** Secret config keys follow `<kind>-<name>` (kubeconfig-aws-use1, cloudflare-api-token, ...). */
function isSecretKeyName(key: string): boolean {
  return /^(kubeconfig|token|credentials|cloudflare|azure|gcp|aws)-/.test(key);
}

export function displayPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel.startsWith("..") ? file : rel;
}
