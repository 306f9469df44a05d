/**
 * The CrossGuard side of a rule: what the policy SDK hands a policy, turned into the plain resources
 * the rules read. The SDK wraps properties in a proxy that throws on any unknown value (and then
 * reports the whole policy as "can't run during preview"); rules instead see unknowns as UNKNOWN and
 * decide from what is known, so a mandatory rule still holds in preview.
 */
import { UNKNOWN, withUnknowns, type PlannedResource } from "../model/resources.js";

/** Copy a (possibly proxied) value, turning every property the proxy refuses to read into UNKNOWN. */
function unproxy(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(read(() => value[i]));
    return out;
  }
  // Assets and archives (class instances) carry no fields a rule reads; keep their plain data.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = read(() => (value as Record<string, unknown>)[key]);
  return out;
}

function read(get: () => unknown): unknown {
  try {
    return unproxy(get());
  } catch (err) {
    // @pulumi/policy's UnknownValueError: the value is not known during preview. Kept by name and message: the
    // pack is bundled (policies/dist), and a class from another copy of @pulumi/policy would fail instanceof.
    // eslint-disable-next-line no-restricted-syntax
    if (err instanceof Error && (err.constructor.name === "UnknownValueError" || /can't be known during preview$/.test(err.message))) return UNKNOWN;
    throw err;
  }
}

/**
 * The key under which @pulumi/policy's proxy hands back the object it wraps (proxy.js `getSpecialProxyTarget`,
 * internal: not in its typings). Reading any other key of a proxy that lacks it gives undefined.
 */
const PROXY_TARGET = "__getSpecialProxyTarget";

/** A CrossGuard resource (`{type, name, urn, props}`) as a planned resource. */
export function planned(r: { type: string; name: string; urn: string; props: Record<string, unknown> }): PlannedResource {
  // The proxy's target is the SDK's deserialized properties with each unknown still its engine sentinel string,
  // which withUnknowns turns into UNKNOWN as the proxy's refusal would have: the same copy, without a proxy trap
  // per property and a thrown UnknownValueError per unknown. Anything else (a plain object) is read as before.
  const target = r.props[PROXY_TARGET];
  const props = target !== null && typeof target === "object" ? target : unproxy(r.props);
  return { type: r.type, name: r.name, urn: r.urn, props: withUnknowns(props) as Record<string, unknown> };
}
