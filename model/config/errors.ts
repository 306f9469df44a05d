/**
 * StackConfigError: every problem in a stack's config at once, each naming the stack file, the config
 * key path as a user would type it (`meridian:regions[2].cloud`), the offending value and what is expected.
 */
import type { z } from "zod";

/** The project's config namespace: stack files spell keys `meridian:<key>`. */
export const CONFIG_NAMESPACE = "meridian";

export interface ConfigProblem {
  /** `meridian:regions[2].cloud` */
  keyPath: string;
  /** The value found, JSON-encoded, or `(missing)`. */
  value: string;
  expected: string;
}

/**
 * A mistake in a stack's config that the user fixes in the stack file. Callers recognise it with
 * `instanceof` and print the message alone (the CLI exits 2); every subclass names the key and value.
 */
export abstract class ConfigMistake extends Error {}

export class StackConfigError extends ConfigMistake {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    const lines = problems.map((p) => `  - ${p.keyPath}: got ${p.value}; ${p.expected}`);
    super(`${source}: ${problems.length} config problem${problems.length === 1 ? "" : "s"}\n${lines.join("\n")}`);
    this.name = "StackConfigError";
  }
}

export function keyPath(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  let out = `${CONFIG_NAMESPACE}:${String(head ?? "")}`;
  for (const seg of rest) out += typeof seg === "number" ? `[${seg}]` : `.${String(seg)}`;
  return out;
}

export function describeValue(input: unknown): string {
  if (input === undefined) return "(missing)";
  const text = JSON.stringify(input);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function problemsFromZod(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((issue) => {
    const input = (issue as { input?: unknown }).input;
    let expected = issue.message;
    if (issue.code === "unrecognized_keys") expected = `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    if (issue.code === "invalid_type" && input === undefined) expected = `required: expected ${issue.expected}`;
    return {
      keyPath: keyPath(issue.path),
      value: issue.code === "unrecognized_keys" ? describeValue(issue.keys) : describeValue(input),
      expected,
    };
  });
}
