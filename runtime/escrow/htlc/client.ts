/**
 * An escrow ledger's HTLC routes seen as an `HtlcLedger` (transport/htlc.ts), for one party: the swap
 * protocol (swap.ts) and `meridian escrow htlc` run against a remote ledger through it. Over HTTP the
 * ledger's own clock judges the timelocks and the bearer token names the caller, so the `nowMs` and
 * `caller` arguments are not sent.
 */
import type { AssetTotals, ClaimRefusal, Htlc, LockRefusal, LockRequest, RefundRefusal } from "./core.js";
import type { HtlcLedger, Outcome } from "./store.js";
import { htlcRefusalOf } from "./wire.js";

/** The escrow service could not be asked, or answered with a failure (5xx, not JSON): not a refusal of the step. */
export class HtlcClientError extends Error {
  override name = "HtlcClientError";
}

export class HttpHtlcLedger implements HtlcLedger {
  constructor(
    readonly url: string,
    private readonly token: string,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const url = `${this.url.replace(/\/$/, "")}${path}`;
    let res: Response;
    try {
      res = await this.fetchFn(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      // fetch says only "fetch failed"; the reason (refused, timed out, no such host) is its cause.
      const cause = (e as Error).cause as Error | undefined;
      throw new HtlcClientError(`${method} ${url}: cannot reach the escrow service (${cause?.message ?? (e as Error).message})`, { cause: e });
    }
    const text = await res.text();
    try {
      return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    } catch {
      throw new HtlcClientError(`${method} ${url}: HTTP ${res.status} with a body that is not JSON (is this an escrow service?)`);
    }
  }

  private async outcome<R extends string>(method: string, path: string, body?: unknown): Promise<Outcome<R>> {
    const { status, json } = await this.call(method, path, body);
    if (status === 200 || status === 201) {
      const { duplicate, ...htlc } = json;
      return { ok: true, htlc: htlc as unknown as Htlc, duplicate: duplicate === true };
    }
    const reason = htlcRefusalOf(String(json["error"]));
    if (status >= 500 || !reason) throw new HtlcClientError(`${method} ${path}: ${status} ${String(json["error"])}: ${String(json["detail"])}`);
    return { ok: false, reason: reason as R, detail: String(json["detail"]) };
  }

  async mint(asset: string, owner: string, qty: number): Promise<void> {
    const { status, json } = await this.call("POST", `/v1/htlc/assets/${encodeURIComponent(asset)}/mint`, { owner, qty });
    if (status !== 200) throw new HtlcClientError(`mint: ${status} ${String(json["error"])}: ${String(json["detail"])}`);
  }

  /**
   * The owner is the token's `sub`, not sent. The ledger derives the id (core.ts htlcId) and answers it in the lock;
   * an `id` given here is sent as a check, refused `invalid` unless the ledger derives the same one.
   */
  lock(req: LockRequest): Promise<Outcome<LockRefusal>> {
    const { owner: _owner, ...body } = req;
    return this.outcome("POST", "/v1/htlc/locks", body);
  }

  claim(id: string, preimageHex: string): Promise<Outcome<ClaimRefusal>> {
    return this.outcome("POST", `/v1/htlc/locks/${encodeURIComponent(id)}/claim`, { preimage: preimageHex });
  }

  refund(id: string): Promise<Outcome<RefundRefusal>> {
    return this.outcome("POST", `/v1/htlc/locks/${encodeURIComponent(id)}/refund`);
  }

  async get(id: string): Promise<Htlc | null> {
    const { status, json } = await this.call("GET", `/v1/htlc/locks/${encodeURIComponent(id)}`);
    if (status === 404) return null;
    if (status !== 200) throw new HtlcClientError(`status of ${id}: ${status} ${String(json["error"])}: ${String(json["detail"])}`);
    return json as unknown as Htlc;
  }

  async balance(asset: string, owner: string): Promise<number> {
    const { status, json } = await this.call("GET", `/v1/htlc/assets/${encodeURIComponent(asset)}/balances/${encodeURIComponent(owner)}`);
    if (status !== 200) throw new HtlcClientError(`balance: ${status} ${String(json["error"])}: ${String(json["detail"])}`);
    return Number(json["available"]);
  }

  async totals(asset: string): Promise<AssetTotals> {
    const { status, json } = await this.call("GET", `/v1/htlc/assets/${encodeURIComponent(asset)}`);
    if (status !== 200) throw new HtlcClientError(`totals: ${status} ${String(json["error"])}: ${String(json["detail"])}`);
    return json as unknown as AssetTotals;
  }

  async close(): Promise<void> {}
}
