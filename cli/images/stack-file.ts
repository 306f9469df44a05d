/**
 * Writing digests into a stack file's `meridian:imageDigests` without touching anything else: each value is
 * spliced into the text where the YAML parser found it (comments, quoting, flow maps and line widths elsewhere
 * stay byte for byte), new keys are added under the last one, and the result must parse to the old config with
 * exactly those digests changed before it replaces the file (atomically, by rename).
 */
import { isDeepStrictEqual } from "node:util";
import { renameSync, writeFileSync } from "node:fs";
import { isMap, isScalar, parseDocument, type Pair, type YAMLMap } from "yaml";

const BLOCK = "meridian:imageDigests";

/** The stack file's text with these digests set; throws (naming the file) when it cannot do so exactly. */
export function withImageDigests(text: string, digests: Record<string, string>, file: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: unparsable YAML: ${doc.errors[0]!.message}`);
  const before = doc.toJS() as { config?: Record<string, unknown> };
  const block = doc.getIn(["config", BLOCK], true);
  const edited = isMap(block) && block.items.length > 0 && !block.flow ? splice(text, block, digests) : rebuild(doc, digests);
  const after = parseDocument(edited).toJS() as { config?: Record<string, unknown> };
  const current = before.config?.[BLOCK];
  const expected = { ...before, config: { ...before.config, [BLOCK]: { ...(isPlainObject(current) ? current : {}), ...digests } } };
  if (!isDeepStrictEqual(after, expected)) throw new Error(`${file}: could not set ${BLOCK} without changing other settings; edit it by hand`);
  return edited;
}

/** Replace `file` with `text` in one step: a reader sees the old file or the new one, never half of it. */
export function replaceFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function splice(text: string, block: YAMLMap, digests: Record<string, string>): string {
  const edits: { at: number; end: number; text: string }[] = [];
  const seen = new Set<string>();
  for (const pair of block.items as Pair[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined || digests[key] === undefined) continue;
    seen.add(key);
    const value = pair.value;
    if (!isScalar(value) || value.range == null) throw new Error(`${BLOCK}["${key}"] is not a plain value`);
    if (value.value === digests[key]) continue;
    // A comment after the value (the sources of a vendored digest) described the old digest: it goes too.
    const lineEnd = text.indexOf("\n", value.range[1]);
    const end = value.comment ? (lineEnd === -1 ? text.length : lineEnd) : value.range[1];
    edits.push({ at: value.range[0], end, text: digests[key] });
  }
  const added = Object.keys(digests)
    .filter((k) => !seen.has(k))
    .sort();
  if (added.length) {
    const first = block.items[0]!.key as { range?: [number, number, number] | null };
    const last = block.items[block.items.length - 1]!.value as { range?: [number, number, number] | null };
    if (!first.range || !last.range) throw new Error(`${BLOCK} has no source positions`);
    const indent = " ".repeat(first.range[0] - (text.lastIndexOf("\n", first.range[0]) + 1));
    const lineEnd = text.indexOf("\n", last.range[1]);
    const at = lineEnd === -1 ? text.length : lineEnd + 1;
    const lines = added.map((k) => `${indent}${JSON.stringify(k)}: ${digests[k]!}\n`).join("");
    edits.push({ at, end: at, text: lineEnd === -1 ? `\n${lines}` : lines });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  return out;
}

/** No block (or an empty or flow one) yet: set it through the document, which may re-flow the file's layout. */
function rebuild(doc: ReturnType<typeof parseDocument>, digests: Record<string, string>): string {
  const current = doc.getIn(["config", BLOCK]);
  const merged = { ...(isMap(current) ? (current.toJSON() as Record<string, string>) : {}), ...digests };
  doc.setIn(
    ["config", BLOCK],
    doc.createNode(
      Object.fromEntries(
        Object.keys(merged)
          .sort()
          .map((k) => [k, merged[k]]),
      ),
    ),
  );
  return doc.toString({ lineWidth: 0 });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
