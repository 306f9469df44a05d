/**
 * A committee member's side of certification: a witness holding a share of the threshold group signs certificate
 * bodies with it (`POST /certify` on the witness, runtime/prooflog/witness/service.ts), and the certchain issuer
 * combines t partials into the group's certificate. What makes forks impossible while fewer than 2t − n members lie is
 * this rule, kept durably before a partial leaves: a member signs at most one body per height, and only above the
 * height it last signed (asked again at that height, it re-signs the same body, or answers 409 with the body it
 * signed — so an issuer that crashed after collecting partials re-issues exactly that certificate). It also checks:
 *   - the body is for its own group (committee hash), and hands over (`next`) only to the group its operator named;
 *   - the body certifies a proof-log checkpoint that carries the log's signature and the group's threshold signature
 *     (so t witnesses already checked it consistent with what they cosigned), no older than the parent's;
 *   - at height > 0, the parent certificate is given, validly signed by its committee (its own group, or the group
 *     that handed over to it), one height below, and its hash is the body's parent.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { replaceFileDurably } from "../common/durable-file.js";
import { parseCheckpoint, verifyThresholdCheckpoint, type ThresholdGroup, type Verifier } from "../prooflog/index.js";
import { partialSign, type Share } from "../tbls/index.js";
import { certBody, certHash, GENESIS_PARENT, LightClient, type UnsignedCertificate } from "./certificates.js";
import { CertError } from "./errors.js";
import { groupCommittee, groupHash, type GroupCommittee } from "./group.js";
import { checkpointBody, checkpointDigest } from "./log-checkpoint.js";
import { CertificateJson, CommitteeJson } from "./schema.js";

/** What the issuer sends: the body to sign, the log's checkpoint note it certifies, and (above genesis) the parent. */
export const CertifyRequestJson = z
  .object({
    certificate: CertificateJson,
    note: z.string().min(1).max(16384),
    parent: CertificateJson.optional(),
    /** The committee that signed `parent`, when it is not this group (the rotation that installed it). */
    parentCommittee: CommitteeJson.optional(),
  })
  .strict();
export type CertifyRequest = z.infer<typeof CertifyRequestJson>;

/** A refusal: `status` 409 carries the body signed at `signed.height` (an issuer adopts it); 422 names what is wrong. */
export class CertifyRefusal extends CertError {
  override name = "CertifyRefusal";
  constructor(
    readonly status: 409 | 422,
    message: string,
    readonly signed?: { certificate: UnsignedCertificate; note: string },
  ) {
    super(message);
  }
}

interface Signed {
  height: number;
  hash: string;
  size: number;
  certificate: UnsignedCertificate;
  /** The log's checkpoint note it certifies (an issuer adopting the body needs it to ask the others). */
  note: string;
}

/** Where a member keeps the last body it signed per chain (the log origin): `set` is durable when it resolves. */
export interface SignedStore {
  get(chain: string): Promise<Signed | null>;
  set(chain: string, s: Signed): Promise<void>;
}

export class MemorySignedStore implements SignedStore {
  private readonly m = new Map<string, Signed>();
  async get(chain: string) {
    return this.m.get(chain) ?? null;
  }
  async set(chain: string, s: Signed) {
    this.m.set(chain, s);
  }
}

/** One file per chain beside the witness's cosigned state, replaced atomically and fsynced before the partial leaves. */
export class FileSignedStore implements SignedStore {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  private path(chain: string) {
    return join(this.dir, `certified-${createHash("sha256").update(chain).digest("hex").slice(0, 32)}.json`);
  }
  async get(chain: string) {
    const text = await readFile(this.path(chain), "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return null;
      throw e;
    });
    if (text === null) return null;
    const doc = JSON.parse(text) as Signed & { chain: string };
    if (doc.chain !== chain) throw new Error(`certification state ${this.path(chain)} belongs to "${doc.chain}"`);
    return { height: doc.height, hash: doc.hash, size: doc.size, certificate: doc.certificate, note: doc.note };
  }
  async set(chain: string, s: Signed) {
    await replaceFileDurably(this.path(chain), JSON.stringify({ chain, ...s }));
  }
}

export interface CertSignerOptions {
  group: ThresholdGroup;
  share: Share;
  /** Log origin → its verifier keys (the logs this witness witnesses). */
  logs: ReadonlyMap<string, readonly Verifier[]>;
  store: SignedStore;
  /** The group this one may hand over to (the operator's next ceremony), if any. */
  next?: GroupCommittee;
}

const sameCommittee = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);

export class CertSigner {
  readonly committee: GroupCommittee;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: CertSignerOptions) {
    this.committee = groupCommittee(o.group);
  }

  /** Check `req` and answer this member's partial signature of its body (serialised: check, persist, sign). */
  certify(req: CertifyRequest): Promise<{ index: number; signature: string }> {
    const run = this.queue.then(() => this.sign(req));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sign({ certificate: c, note, parent, parentCommittee }: CertifyRequest): Promise<{ index: number; signature: string }> {
    const refuse = (m: string): never => {
      throw new CertifyRefusal(422, `certificate ${c.height}: ${m}`);
    };
    const { signatures: _s, groupSignature: _g, ...body } = c;
    if (body.committee !== groupHash(this.committee)) refuse("it is not for this member's group");
    if (body.next !== undefined && (this.o.next === undefined || !sameCommittee(body.next, this.o.next))) refuse("it hands over to a group this member's operator did not name");
    if (body.checkpoint === undefined) refuse("it certifies no log checkpoint");
    if (checkpointDigest(body.checkpoint!) !== body.root) refuse("its root is not its checkpoint's digest");
    let size = 0;
    try {
      if (checkpointBody(note) !== body.checkpoint) refuse("the note is not the checkpoint it certifies");
      const origin = parseCheckpoint(body.checkpoint!).origin;
      const verifiers = this.o.logs.get(origin) ?? refuse(`unknown log "${origin}"`);
      size = verifyThresholdCheckpoint(note, verifiers, this.o.group, origin).size;
    } catch (e) {
      if (e instanceof CertifyRefusal) throw e;
      refuse(`the checkpoint: ${(e as Error).message}`);
    }
    const hash = certHash({ ...body, signatures: [] });
    const chain = parseCheckpoint(body.checkpoint!).origin;
    const last = await this.o.store.get(chain);
    if (last !== null && body.height === last.height && hash === last.hash) return this.partial(body);
    if (last !== null && body.height <= last.height)
      throw new CertifyRefusal(409, `certificate ${c.height}: this member already signed height ${last.height}`, { certificate: last.certificate, note: last.note });
    if (last !== null && size < last.size) refuse(`its checkpoint (size ${size}) is older than the one this member certified last (size ${last.size})`);
    if (body.height === 0) {
      if (body.parent !== GENESIS_PARENT) refuse("a first certificate has no parent");
    } else {
      if (parent === undefined) return refuse("the parent certificate is needed above height 0");
      if (parent.height !== body.height - 1 || certHash(parent) !== body.parent) refuse("the parent given is not its parent");
      const signer = parent.committee === groupHash(this.committee) ? this.committee : parentCommittee;
      if (signer === undefined || (signer !== this.committee && (parent.next === undefined || !sameCommittee(parent.next, this.committee))))
        refuse("the parent is neither this group's nor the rotation that installed it");
      try {
        new LightClient(parent, signer!);
      } catch (e) {
        refuse(`the parent: ${(e as Error).message}`);
      }
      if (parent.checkpoint !== undefined && parseCheckpoint(parent.checkpoint).size > size) refuse("its checkpoint is older than its parent's");
    }
    await this.o.store.set(chain, { height: body.height, hash, size, certificate: body, note });
    return this.partial(body);
  }

  private partial(body: UnsignedCertificate): { index: number; signature: string } {
    const p = partialSign(certBody(body), this.o.share);
    return { index: p.index, signature: Buffer.from(p.signature).toString("hex") };
  }
}
