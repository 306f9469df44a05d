/**
 * C2SP tlog-policy: which logs are trusted and which witness quorum a checkpoint needs.
 *
 *   log <vkey> [<url>]
 *   witness <name> <vkey> [<url>]
 *   group <name> all|any|<k> <member>...
 *   quorum <name>            (exactly once; `none` = no cosignatures needed)
 *
 * Names are defined before use; duplicate keys or names are errors. A checkpoint satisfies the policy when one
 * listed log signed it (the key name is the origin) and the quorum's witnesses cosigned it. A checkpoint signed
 * only by a witness key is never a log's checkpoint: witness keys are not log keys here.
 */
import { openCheckpoint, type Checkpoint } from "./checkpoint.js";
import { ALG_ED25519, NoteError, newVerifier, openNote, parseVerifierKey, type Verifier } from "./note.js";
import { newCosignatureVerifier } from "./witness/cosignature.js";

export class PolicyError extends Error {
  override name = "PolicyError";
}

type Rule = { kind: "witness"; verifier: Verifier } | { kind: "group"; k: number; members: string[] };

export interface Policy {
  logs: { verifier: Verifier; url?: string }[];
  witnesses: Map<string, { verifier: Verifier; url?: string }>;
  rules: Map<string, Rule>;
  quorum: string;
}

export function parsePolicy(text: string, where = "policy"): Policy {
  const logs: Policy["logs"] = [];
  const witnesses: Policy["witnesses"] = new Map();
  const rules = new Map<string, Rule>();
  const keys = new Set<string>();
  let quorum: string | null = null;
  const fail = (n: number, msg: string) => new PolicyError(`${where} line ${n}: ${msg}`);
  const key = (n: number, vkey: string) => {
    let k;
    try {
      k = parseVerifierKey(vkey);
    } catch (e) {
      throw fail(n, (e as NoteError).message);
    }
    const raw = Buffer.from(k.publicKey).toString("hex");
    if (keys.has(raw)) throw fail(n, `duplicate key (${k.name}): each public key may appear once`);
    keys.add(raw);
    return k;
  };
  text.split("\n").forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const f = line.split(/[ \t]+/);
    switch (f[0]) {
      case "log": {
        if (f.length < 2 || f.length > 3) throw fail(n, "expected: log <vkey> [<url>]");
        const k = key(n, f[1]!);
        if (k.alg !== ALG_ED25519) throw fail(n, `log key ${k.name} has algorithm ${k.alg}; a log signs checkpoints with Ed25519 (1)`);
        logs.push({ verifier: newVerifier(f[1]!), url: f[2] });
        return;
      }
      case "witness": {
        if (f.length < 3 || f.length > 4) throw fail(n, "expected: witness <name> <vkey> [<url>]");
        const name = f[1]!;
        if (name === "none" || rules.has(name)) throw fail(n, `name "${name}" is already defined`);
        const k = key(n, f[2]!);
        if (k.alg === ALG_ED25519) throw fail(n, `witness key ${k.name} is an Ed25519 note key; witnesses cosign with type 4 (cosignature/v1) or 6 (ML-DSA-44)`);
        const verifier = newCosignatureVerifier(f[2]!);
        witnesses.set(name, { verifier, url: f[3] });
        rules.set(name, { kind: "witness", verifier });
        return;
      }
      case "group": {
        if (f.length < 4) throw fail(n, "expected: group <name> all|any|<k> <member>...");
        const name = f[1]!;
        if (name === "none" || rules.has(name)) throw fail(n, `name "${name}" is already defined`);
        const members = f.slice(3);
        for (const m of members) if (!rules.has(m)) throw fail(n, `group member "${m}" is not a witness or group defined above`);
        if (new Set(members).size !== members.length) throw fail(n, "a group lists a member twice");
        const t = f[2]!;
        const k = t === "all" ? members.length : t === "any" ? 1 : /^[1-9][0-9]*$/.test(t) ? Number(t) : NaN;
        if (!(k >= 1 && k <= members.length)) throw fail(n, `threshold "${t}" must be all, any or 1..${members.length}`);
        rules.set(name, { kind: "group", k, members });
        return;
      }
      case "quorum": {
        if (f.length !== 2) throw fail(n, "expected: quorum <name>");
        if (quorum !== null) throw fail(n, "a policy has exactly one quorum line");
        if (f[1] !== "none" && !rules.has(f[1]!)) throw fail(n, `quorum "${f[1]}" is not a witness or group defined above`);
        quorum = f[1]!;
        return;
      }
      default:
        throw fail(n, `unknown line type "${f[0]}" (expected log, witness, group or quorum)`);
    }
  });
  if (quorum === null) throw new PolicyError(`${where}: no quorum line (use "quorum none" to require no cosignatures)`);
  return { logs, witnesses, rules, quorum };
}

function satisfied(p: Policy, name: string, cosigned: ReadonlySet<Verifier>): boolean {
  if (name === "none") return true;
  const r = p.rules.get(name)!;
  if (r.kind === "witness") return cosigned.has(r.verifier);
  return r.members.filter((m) => satisfied(p, m, cosigned)).length >= r.k;
}

/** Open a checkpoint under a policy: signed by a listed log, cosigned to the quorum. Throws NoteError/PolicyError. */
export function verifyWithPolicy(note: string, p: Policy, origin?: string): { checkpoint: Checkpoint; witnesses: string[] } {
  if (p.logs.length === 0) throw new PolicyError("the policy lists no log: nothing can sign a checkpoint");
  const { checkpoint } = openCheckpoint(
    note,
    p.logs.map((l) => l.verifier),
    origin,
  );
  const ws = [...p.witnesses.entries()];
  let valid: Set<Verifier> = new Set();
  try {
    const sigs = openNote(
      note,
      ws.map(([, w]) => w.verifier),
    ).sigs;
    valid = new Set(ws.filter(([, w]) => sigs.some((s) => s.name === w.verifier.name && s.keyId === w.verifier.keyId)).map(([, w]) => w.verifier));
  } catch (e) {
    if (!(e instanceof NoteError) || e.kind !== "unverified") throw e;
  }
  if (!satisfied(p, p.quorum, valid)) {
    const have = ws.filter(([, w]) => valid.has(w.verifier)).map(([n]) => n);
    throw new PolicyError(`checkpoint ${checkpoint.origin} size ${checkpoint.size} does not meet the policy's quorum "${p.quorum}" (valid cosignatures from: ${have.join(", ") || "none"})`);
  }
  return { checkpoint, witnesses: ws.filter(([, w]) => valid.has(w.verifier)).map(([n]) => n) };
}
