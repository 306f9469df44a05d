/**
 * `meridian escrow htlc secret|id|mint|lock|claim|refund|status`: hash time-locked contracts on a running escrow
 * service's ledger (runtime/escrow/transport/htlc.ts), the steps of a cross-ledger atomic swap
 * (docs/trust.md "Atomic swaps"). The caller is whoever the bearer token in --token-file names; the ledger's
 * clock judges the timelock. Each command prints the lock (or the totals) as JSON and exits 1 when the ledger
 * refuses, with its reason on stderr. A lock's id is the ledger's, derived from its owner and terms (`lock` prints it;
 * `id` computes it offline from the same terms, so a counterparty can look the lock up before anyone sends it).
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { numberArg } from "../args.js";
import { UserError } from "../errors.js";

interface Remote {
  url: string;
  tokenFile?: string;
}

async function ledger(o: Remote) {
  if (!/^https?:\/\//.test(o.url)) throw new UserError(`--url: got "${o.url}"; expected the escrow's base URL, e.g. http://127.0.0.1:7100`);
  let token = "";
  if (o.tokenFile) {
    try {
      token = readFileSync(o.tokenFile, "utf8").trim();
    } catch (err) {
      throw new UserError(`--token-file: cannot read ${o.tokenFile}: ${(err as Error).message}`);
    }
  }
  const { HttpHtlcLedger } = await import("../../runtime/escrow/htlc/client.js");
  return new HttpHtlcLedger(o.url, token);
}

/** A timelock: ms since the epoch, an ISO-8601 time, or +N[s|m|h] from now. */
function timelockArg(raw: string): number {
  const rel = /^\+(\d+)(s|m|h)$/.exec(raw);
  if (rel) return Date.now() + Number(rel[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[rel[2] as "s" | "m" | "h"];
  if (/^\d+$/.test(raw)) return Number(raw);
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new UserError(`--timelock: got "${raw}"; expected ms since the epoch, an ISO-8601 time or +N(s|m|h)`);
  return t;
}

/** A service that cannot be reached or fails is not a usage error: one line naming it, exit 1. */
function guard<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (e) {
      const { HtlcClientError } = await import("../../runtime/escrow/htlc/client.js");
      if (!(e instanceof HtlcClientError)) throw e;
      process.stderr.write(`meridian: ${e.message}\n`);
      process.exitCode = 1;
    }
  };
}

function print(out: { ok: true; htlc: unknown; duplicate: boolean } | { ok: false; reason: string; detail: string }): void {
  if (!out.ok) {
    process.stderr.write(`refused (${out.reason}): ${out.detail}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${JSON.stringify({ ...(out.htlc as object), duplicate: out.duplicate })}\n`);
}

const remote = (c: Command, token = true) => {
  c.requiredOption("--url <url>", "the escrow service's base URL");
  if (token) c.requiredOption("--token-file <file>", "the caller's bearer token (meridian escrow token …)");
  return c;
};

export function registerHtlc(escrow: Command): void {
  const htlc = escrow.command("htlc").description("hash time-locked contracts on an escrow ledger: the steps of an atomic swap");
  htlc
    .command("secret")
    .description("print a fresh 32-byte preimage and its hashlock (SHA-256) as JSON; keep the preimage until you claim")
    .action(async () => {
      const { newSecret } = await import("../../runtime/escrow/htlc/swap.js");
      process.stdout.write(`${JSON.stringify(newSecret())}\n`);
    });
  remote(htlc.command("mint"))
    .description("add units of an asset to an account (admin token)")
    .requiredOption("--asset <name>", "the asset")
    .requiredOption("--owner <who>", "the account")
    .requiredOption("--qty <n>", "units", numberArg("--qty", 1, 1e12, true))
    .action(
      guard(async (o: Remote & { asset: string; owner: string; qty: number }) => {
        const l = await ledger(o);
        await l.mint(o.asset, o.owner, o.qty);
        process.stdout.write(`${JSON.stringify({ asset: o.asset, owner: o.owner, available: await l.balance(o.asset, o.owner) })}\n`);
      }),
    );
  remote(htlc.command("lock"))
    .description("lock units of yours for a recipient under a hashlock until a timelock; prints the lock with the id the ledger derived")
    .option("--id <id>", "the id you expect (`meridian escrow htlc id`): refused unless the ledger derives the same (a retry with the same terms is a replay)")
    .requiredOption("--asset <name>", "the asset")
    .requiredOption("--recipient <who>", "who may claim with the preimage")
    .requiredOption("--qty <n>", "units", numberArg("--qty", 1, 1e12, true))
    .requiredOption("--hashlock <hex>", "SHA-256 of the preimage (64 hex digits)")
    .requiredOption("--timelock <when>", "claims until, refunds from: ms since the epoch, ISO-8601, or +N(s|m|h)")
    .action(
      guard(async (o: Remote & { id?: string; asset: string; recipient: string; qty: number; hashlock: string; timelock: string }) => {
        const l = await ledger(o);
        print(await l.lock({ id: o.id, asset: o.asset, owner: "", recipient: o.recipient, qty: o.qty, hashlock: o.hashlock, timelockMs: timelockArg(o.timelock) }));
      }),
    );
  htlc
    .command("id")
    .description("print the id a ledger gives a lock with these terms (SHA-256 over meridian-htlc/v1 and them), offline")
    .requiredOption("--owner <who>", "the owner (the `sub` of the token that locks)")
    .requiredOption("--recipient <who>", "the recipient")
    .requiredOption("--asset <name>", "the asset")
    .requiredOption("--qty <n>", "units", numberArg("--qty", 1, 1e12, true))
    .requiredOption("--hashlock <hex>", "SHA-256 of the preimage (64 hex digits)")
    .requiredOption("--timelock <ms>", "the timelock, ms since the epoch (as the lock holds it)", numberArg("--timelock", 1, Number.MAX_SAFE_INTEGER, true))
    .action(async (o: { owner: string; recipient: string; asset: string; qty: number; hashlock: string; timelock: number }) => {
      if (!/^[0-9a-f]{64}$/.test(o.hashlock)) throw new UserError(`--hashlock: got "${o.hashlock}"; expected SHA-256 of the preimage, 64 lower-case hex digits`);
      const { htlcId } = await import("../../runtime/escrow/htlc/core.js");
      let id: string;
      try {
        id = htlcId({ owner: o.owner, recipient: o.recipient, asset: o.asset, qty: o.qty, hashlock: o.hashlock, timelockMs: o.timelock });
      } catch (e) {
        throw e instanceof RangeError ? new UserError(e.message) : e;
      }
      process.stdout.write(`${id}\n`);
    });
  remote(htlc.command("claim"))
    .description("claim a lock made out to you, revealing the preimage (before its timelock)")
    .requiredOption("--id <id>", "the lock")
    .requiredOption("--preimage <hex>", "the preimage")
    .action(guard(async (o: Remote & { id: string; preimage: string }) => print(await (await ledger(o)).claim(o.id, o.preimage))));
  remote(htlc.command("refund"))
    .description("take back a lock of yours (from its timelock on, if nobody claimed it)")
    .requiredOption("--id <id>", "the lock")
    .action(guard(async (o: Remote & { id: string }) => print(await (await ledger(o)).refund(o.id))));
  remote(htlc.command("status"), false)
    .description("print a lock (status, and the preimage once claimed) or an asset's totals (supply = available + locked)")
    .option("--id <id>", "the lock")
    .option("--asset <name>", "the asset")
    .action(
      guard(async (o: Remote & { id?: string; asset?: string }) => {
        if (!o.id === !o.asset) throw new UserError("give --id LOCK or --asset NAME");
        const l = await ledger(o);
        if (o.asset) return void process.stdout.write(`${JSON.stringify(await l.totals(o.asset))}\n`);
        const h = await l.get(o.id!);
        if (!h) throw new UserError(`--id: no lock ${o.id} on ${o.url}`);
        process.stdout.write(`${JSON.stringify(h)}\n`);
      }),
    );
}
