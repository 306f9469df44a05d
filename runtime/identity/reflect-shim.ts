/**
 * @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which refuses to load unless the Reflect
 * metadata API exists, and no polyfill package (reflect-metadata) is installed here. This installs only the
 * three calls tsyringe makes (getMetadata, getOwnMetadata, defineMetadata), backed by a WeakMap, and only
 * when no polyfill is present. Import it before @peculiar/x509. Replace with `import "reflect-metadata"`
 * once that package is a dependency.
 */
type Target = object;
const store = new WeakMap<Target, Map<unknown, unknown>>();
const R = Reflect as unknown as Record<string, unknown>;

if (typeof R["getMetadata"] !== "function") {
  const own = (key: unknown, target: Target): unknown => store.get(target)?.get(key);
  R["defineMetadata"] = (key: unknown, value: unknown, target: Target): void => {
    const map = store.get(target) ?? new Map<unknown, unknown>();
    map.set(key, value);
    store.set(target, map);
  };
  R["getOwnMetadata"] = own;
  R["getMetadata"] = (key: unknown, target: Target): unknown => {
    for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
      const value = own(key, t);
      if (value !== undefined) return value;
    }
    return undefined;
  };
}

export {};
