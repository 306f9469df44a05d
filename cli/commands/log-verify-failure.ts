/** How every `meridian log` verification reports a refusal: one line naming why, exit 1 (not a usage error). */
export async function verificationFailed(e: unknown): Promise<void> {
  // The modules are loaded already by the command that failed; importing them here costs nothing.
  const failures = [
    RangeError,
    (await import("../../runtime/prooflog/proof/verify.js")).ProofError,
    (await import("../../runtime/prooflog/note.js")).NoteError,
    (await import("../../runtime/prooflog/client.js")).LogClientError,
    (await import("../../runtime/prooflog/tileclient.js")).TileError,
    (await import("../../runtime/prooflog/policy.js")).PolicyError,
  ];
  if (!failures.some((kind) => e instanceof kind)) throw e;
  process.stderr.write(`meridian: verification failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
