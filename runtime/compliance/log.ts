/**
 * The I/O edge of compliance proofs: append a record statement to the proof log, and fetch the statement's
 * inclusion proof under a checkpoint that covers it (waiting for the log's next signing if needed). Nothing here
 * is trusted: the auditor's verifyDisclosure checks the checkpoint and the proof.
 */
import { LogClient } from "../prooflog/index.js";
import { ComplianceError } from "./errors.js";
import type { LogProof } from "./disclosure.js";

export async function appendStatement(logUrl: string, statement: string): Promise<number> {
  return (await new LogClient(logUrl).add(Buffer.from(statement, "utf8"))).index;
}

/** The inclusion proof of entry `index` under the log's current checkpoint; waits up to `waitMs` for one covering it. */
export async function fetchLogProof(logUrl: string, index: number, waitMs = 10_000): Promise<LogProof> {
  const client = new LogClient(logUrl);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const checkpoint = await client.checkpoint();
    const size = Number(checkpoint.split("\n")[1]);
    if (size > index) return { index, checkpoint, inclusionProof: (await client.inclusionProof(index, size)).map((h) => h.toString("base64")) };
    if (Date.now() >= deadline) throw new ComplianceError(`the log at ${logUrl} published no checkpoint covering entry ${index} within ${waitMs} ms (latest size ${size})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
