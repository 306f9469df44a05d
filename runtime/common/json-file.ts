/**
 * A JSON file a command was handed (a claim, a share, a commitment), checked against its schema. Every
 * failure is one error naming the file and what was expected there, built by the caller's own error class
 * so each package keeps its refusal type (usage error, refused claim, …).
 */
import { existsSync, readFileSync } from "node:fs";
import type { z } from "zod";

/** zod's issues as one line: `path: message; …`. */
const issueList = (error: z.ZodError): string => error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");

export function readJsonFile<T>(file: string, what: string, schema: z.ZodType<T>, fail: (message: string) => Error): T {
  if (!existsSync(file)) throw fail(`${file}: no such file (expected ${what})`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw fail(`${file}: not JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw fail(`${file}: not ${what}: ${issueList(r.error)}`);
  return r.data;
}
