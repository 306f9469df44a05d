// The HTLC client names why the ledger failed: a bare "totals: 503 unavailable" (docs/trust.md under a second run
// of the same document, which had dropped the ledger's schema) said nothing of the cause the service sent.
import { describe, expect, it } from "vitest";
import { HttpHtlcLedger } from "../../../../runtime/escrow/htlc/client.js";

const failing = (async () =>
  new Response(JSON.stringify({ error: "unavailable", detail: 'htlc ledger: relation "htlc_docs_l1.htlc_supply" does not exist' }), {
    status: 503,
    headers: { "content-type": "application/json" },
  })) as typeof fetch;

describe("HttpHtlcLedger on a failing ledger", () => {
  it("totals and status carry the service's detail", async () => {
    const l = new HttpHtlcLedger("http://127.0.0.1:1", "token", failing);
    await expect(l.totals("gold")).rejects.toThrow('totals: 503 unavailable: htlc ledger: relation "htlc_docs_l1.htlc_supply" does not exist');
    await expect(l.get("swap1:1")).rejects.toThrow('status of swap1:1: 503 unavailable: htlc ledger: relation "htlc_docs_l1.htlc_supply" does not exist');
  });
});
