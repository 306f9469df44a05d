/**
 * A challenger's client for an escrow's state-transition log (runtime/escrow/transport/transitions.ts) and a fraud
 * court (service.ts): fetch the signed checkpoint and every entry it commits, and file a claim and its proof.
 */
import type { EscrowFraudProof } from "./escrow-log.js";
import { FraudInputError } from "./challenge.js";

export interface ServedCheckpoint {
  origin: string;
  vkey: string;
  size: number;
  checkpoint: string;
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  let r: Response;
  try {
    r = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new FraudInputError(`${url}: unreachable (${(e as Error).message})`);
  }
  const text = await r.text();
  try {
    return { status: r.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new FraudInputError(`${url}: answered ${r.status} with a body that is not JSON`);
  }
}

/** The escrow's checkpoint now and the entries it commits (paged), as bytes. */
export async function fetchEscrowLog(base: string): Promise<{ served: ServedCheckpoint; entries: Buffer[] }> {
  const root = base.replace(/\/+$/, "");
  const cp = await getJson(`${root}/v1/transitions/checkpoint`);
  const s = cp.body as Partial<ServedCheckpoint>;
  if (cp.status !== 200 || typeof s.checkpoint !== "string" || typeof s.vkey !== "string" || !Number.isSafeInteger(s.size))
    throw new FraudInputError(`${root}/v1/transitions/checkpoint: answered ${cp.status}, not a transition checkpoint`);
  const entries: Buffer[] = [];
  while (entries.length < s.size!) {
    const page = await getJson(`${root}/v1/transitions?start=${entries.length}&limit=1000`);
    const list = (page.body as { entries?: unknown }).entries;
    if (page.status !== 200 || !Array.isArray(list) || list.some((e) => typeof e !== "string")) throw new FraudInputError(`${root}/v1/transitions: answered ${page.status}, not a page of entries`);
    if (list.length === 0) throw new FraudInputError(`${root}/v1/transitions: the log ends at ${entries.length}, its checkpoint says ${s.size}`);
    for (const e of list as string[]) entries.push(Buffer.from(e, "utf8"));
  }
  return { served: s as ServedCheckpoint, entries: entries.slice(0, s.size) };
}

/** Assert the checkpoint at a court and file the proof: the court's answers (status code and body). */
export async function fileWithCourt(court: string, proof: EscrowFraudProof): Promise<{ claim: { status: number; body: unknown }; proof: { status: number; body: unknown } }> {
  const root = court.replace(/\/+$/, "");
  const post = (path: string, body: unknown) => getJson(`${root}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const claim = await post("/v1/fraud/claims", { checkpoint: proof.checkpoint });
  return { claim, proof: await post("/v1/fraud/proofs", proof) };
}
