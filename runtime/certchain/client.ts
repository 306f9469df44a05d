/**
 * Fast sync over HTTP from `meridian cert serve`: the light client pulls the certificates after its head in pages
 * and verifies each itself — the server is not trusted, only the committee the client started from.
 */
import { z } from "zod";
import { CertError } from "./errors.js";
import type { LightClient } from "./certificates.js";
import { CertificateJson } from "./schema.js";

const Page = z.object({ first: z.number(), latest: z.number(), certificates: z.array(CertificateJson) });

/** Follow the server at `base` from the client's head to the server's latest certificate; returns how many were accepted. */
export async function syncFrom(base: string, lc: LightClient, page = 256): Promise<number> {
  let accepted = 0;
  for (;;) {
    const url = `${base.replace(/\/+$/, "")}/v1/certs?from=${lc.head.height + 1}&limit=${page}`;
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new CertError(`${url}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new CertError(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    const body = Page.safeParse(await res.json().catch(() => null));
    if (!body.success) throw new CertError(`${url}: not a page of certificates`);
    const before = lc.head.height;
    for (const c of body.data.certificates) {
      lc.accept(c);
      accepted++;
    }
    if (body.data.certificates.length < page) return accepted;
    if (lc.head.height === before) throw new CertError(`${url}: a full page that does not advance the head`);
  }
}
