/**
 * @peculiar/x509, loaded on first use. Every service imports runtime/identity through the kit (SPIFFE IDs, mTLS), but
 * only one that parses or issues a certificate needs the library: ~200 modules and ~80 ms of CPU in each process
 * otherwise (every region of `meridian local`, every CLI the tests spawn). Its CommonJS build is the one Node's
 * `import` resolves too, so offline-ca.ts's static import and this share one instance.
 */
import { webcrypto } from "node:crypto";
import { createRequire } from "node:module";
import type * as X509 from "@peculiar/x509";

const require = createRequire(import.meta.url);
let lib: typeof X509 | undefined;

export function x509(): typeof X509 {
  if (lib) return lib;
  require("reflect-metadata"); // tsyringe (used by @peculiar/x509) needs the Reflect metadata API
  const loaded = require("@peculiar/x509") as typeof X509;
  loaded.cryptoProvider.set(webcrypto as unknown as Crypto);
  return (lib = loaded);
}
