/**
 * The follower (`cert serve` with `follow`): a light client of another region's certificate chain service that keeps
 * what it verified. It starts from the upstream's first held certificate, verified under the committee this
 * follower trusts (the stack's pinned group) — a chain that has rotated past it and pruned the rotation is refused
 * as signed by an uncertified committee — then each round reads the certificates from its own head on: each must
 * follow its head (height, parent hash) under the committee in force, rotations signed by the old group. The head
 * itself is read again each round, so upstream serving a different certificate at a height held here is a fork:
 * when the same group signed both, that is kept as equivocation evidence.
 */
import { z } from "zod";
import type { CertChain } from "./chain.js";
import { CertError } from "./errors.js";
import type { Certificate } from "./certificates.js";
import { CertificateJson } from "./schema.js";

const Page = z.object({ first: z.number(), latest: z.number(), certificates: z.array(CertificateJson) });
const PAGE = 256;

async function page(url: string, timeoutMs: number): Promise<z.infer<typeof Page>> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new CertError(`${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new CertError(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  const body = Page.safeParse(await res.json().catch(() => null));
  if (!body.success) throw new CertError(`${url}: not a page of certificates`);
  return body.data;
}

/** The upstream's first held certificate (where a follower with nothing kept starts). */
export async function upstreamFirst(base: string, timeoutMs: number): Promise<Certificate> {
  const first = (await page(`${base.replace(/\/+$/, "")}/v1/certs?limit=1`, timeoutMs)).certificates[0];
  if (first === undefined) throw new CertError(`${base}: holds no certificate yet`);
  return first;
}

/** One round: append every certificate upstream holds past the head; returns how many were new. `append` throws ForkError on a conflict. */
export async function followRound(base: string, chain: CertChain, append: (c: Certificate) => boolean, timeoutMs: number): Promise<number> {
  let added = 0;
  for (;;) {
    const from = chain.latest.height;
    const got = await page(`${base.replace(/\/+$/, "")}/v1/certs?from=${from}&limit=${PAGE}`, timeoutMs);
    for (const c of got.certificates) if (append(c)) added++;
    if (got.certificates.length < PAGE || chain.latest.height === from) return added;
  }
}
