/** Which images `meridian images` works on for a stack: the catalogue's (model/images/charts.ts), never a copy of it. */
import { knownImageReferences, requiredImageDigests } from "../../model/images/charts.js";
import { readStackConfigMap } from "../../stacks/load.js";

/** The stack file's `meridian:imageDigests` as written (placeholders included). */
export function stackDigests(stack: string): Record<string, string> {
  const block = readStackConfigMap(stack)["meridian:imageDigests"];
  if (block === undefined || block === null) return {};
  if (typeof block !== "object" || Array.isArray(block)) return {};
  return Object.fromEntries(Object.entries(block).filter((e): e is [string, string] => typeof e[1] === "string"));
}

/**
 * Every image the stack must name a digest for, plus any vendored one it names anyway (it overrides the vendored
 * digest, so it is kept current too). A key the catalogue does not know is left alone: the stack check refuses it.
 */
export function imagesToResolve(current: Record<string, string>): string[] {
  const known = knownImageReferences();
  return [...new Set([...requiredImageDigests(), ...Object.keys(current).filter((k) => known.has(k))])].sort();
}
