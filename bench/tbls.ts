// `npm run bench -- tbls`: (t, n) threshold BLS (runtime/tbls) per operation, milliseconds, at 3-of-5 and 67-of-100.
// The peer is plain single-key BLS in @noble/curves in the same run: a threshold signature costs t partial
// signatures plus a combination, but verifies at exactly the cost of one ordinary BLS signature.
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { combine, deal, groupPublicKey, partialSign, verifyGroupSignature, verifyPartial, verifyShare } from "../runtime/tbls/index.js";
import { report, row, type BenchRow } from "./lib/report.js";

const bls = bls12_381.shortSignatures;
const message = new TextEncoder().encode("checkpoint example.com/log 42");

function ms(fn: () => unknown, rounds = 3): number {
  fn();
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
}

const { secretKey, publicKey } = bls.keygen();
const plainSig = bls.sign(bls.hash(message), secretKey);
// Measured again beside each row it is compared with, so machine noise hits both alike.
const plainSign = () => ms(() => bls.sign(bls.hash(message), secretKey));
const plainVerify = () => ms(() => bls.verify(plainSig, bls.hash(message), publicKey));

const rows: BenchRow[] = [];
for (const [t, n] of [
  [3, 5],
  [67, 100],
] as const) {
  const d = deal(t, n);
  const partials = d.shares.slice(0, t).map((s) => partialSign(message, s));
  const sig = combine(t, partials);
  const key = groupPublicKey(d.commitments);
  rows.push(
    row(
      `deal ${t}-of-${n}`,
      "ms",
      ms(() => deal(t, n), 1),
      null,
      "shares + t G2 commitments",
    ),
  );
  rows.push(
    row(
      `verify one share (Feldman) ${t}-of-${n}`,
      "ms",
      ms(() => verifyShare(d.commitments, d.shares[0]!)),
      null,
      "t G2 multiplications",
    ),
  );
  rows.push(
    row(
      `partial sign ${t}-of-${n}`,
      "ms",
      ms(() => partialSign(message, d.shares[0]!)),
      plainSign(),
      "peer: plain BLS sign",
    ),
  );
  rows.push(
    row(
      `verify one partial ${t}-of-${n}`,
      "ms",
      ms(() => verifyPartial(message, d.commitments, partials[0]!)),
      plainVerify(),
      "key share from commitments + pairing check",
    ),
  );
  rows.push(
    row(
      `combine ${t} partials`,
      "ms",
      ms(() => combine(t, partials)),
      null,
      "Lagrange at 0 + t G1 multiplications",
    ),
  );
  rows.push(
    row(
      `verify group signature ${t}-of-${n}`,
      "ms",
      ms(() => verifyGroupSignature(message, sig, key)),
      plainVerify(),
      "peer: plain BLS verify",
    ),
  );
}
report("tbls", rows);
