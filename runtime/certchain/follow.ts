/**
 * The follower (`cert serve` with `follow`): a light client of another region's certificate chain service that keeps
 * what it verified. It starts from the upstream's first held certificate the committee this follower trusts (the
 * stack's pinned group) signed — the chain's first, or after a rotation to that group the new group's first — then
 * each round reads the certificates from its own head on: each must
 * follow its head (height, parent hash) under the committee in force, rotations signed by the old group. The head
 * itself is read again each round, so upstream serving a different certificate at a height held here is a fork:
 * when the same group signed both, that is kept as equivocation evidence.
 */
import { z } from "zod";
import type { CertChain } from "./chain.js";
import { CertError } from "./errors.js";
import { LightClient, type Certificate, type Committee } from "./certificates.js";
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

/**
 * Where a follower with nothing kept starts: the first certificate upstream holds that the committee it trusts
 * signed — the chain's first, or, once the group rotated to the one this follower pins (the stack's `group` promoted
 * after a hand-over), the first the new group signed: a fast sync from a checkpoint, the pinned group being the trust
 * anchor. `refusal(c)` says why the trusted committee does not vouch for `c` (undefined: it does).
 */
export async function upstreamStart(base: string, refusal: (c: Certificate) => string | undefined, timeoutMs: number): Promise<Certificate> {
  const root = base.replace(/\/+$/, "");
  const head = await page(`${root}/v1/certs?limit=1`, timeoutMs);
  if (head.certificates[0] === undefined) throw new CertError(`${base}: holds no certificate yet`);
  let firstRefusal: string | undefined;
  for (let from = head.first; ;) {
    const got = await page(`${root}/v1/certs?from=${from}&limit=${PAGE}`, timeoutMs);
    for (const c of got.certificates) {
      const why = refusal(c);
      if (why === undefined) return c;
      firstRefusal ??= why;
    }
    const last = got.certificates.at(-1);
    if (last === undefined || got.certificates.length < PAGE)
      throw new CertError(
        `${base}: none of its certificates (heights ${head.first}..${last?.height ?? from - 1}) is signed by the committee this follower trusts; the first: ${firstRefusal ?? "none"}`,
      );
    from = last.height + 1;
  }
}

/** Why `committee` does not vouch for `c` as a start (a light client would refuse to begin there); undefined: it does. */
export function refusalUnder(c: Certificate, committee: Committee): string | undefined {
  try {
    new LightClient(c, committee);
    return undefined;
  } catch (e) {
    if (e instanceof CertError) return e.message;
    throw e;
  }
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
