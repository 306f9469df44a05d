/** The transition log's signer key from `transitionsKeyFile` (serve.ts): read once at start, checked before use. */
import { readFileSync } from "node:fs";
import { ConfigFileError } from "../kit/index.js";
import { newSigner } from "../prooflog/index.js";

/**
 * The key file's one line, an Ed25519 note signer key (surrounding blank lines and CR ignored): anything else there —
 * junk on its line, another line, a verifier or witness key — is a config error naming the file, never silently used.
 */
export function readSignerKey(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigFileError(file, [`transitionsKeyFile: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  if (lines.length === 0) throw new ConfigFileError(file, ["transitionsKeyFile: the file holds no key"]);
  if (lines.length > 1) throw new ConfigFileError(file, [`transitionsKeyFile: the file holds ${lines.length} lines, not one signer key line`]);
  try {
    newSigner(lines[0]!);
  } catch (e) {
    throw new ConfigFileError(file, [`transitionsKeyFile: not an Ed25519 note signer key (${(e as Error).message})`]);
  }
  return lines[0]!;
}
