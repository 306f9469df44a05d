/**
 * A runbook: Markdown rendered from one stack's EstateSpec, so every number in it is this stack's own.
 * Each runbook lives in its own file in model/runbooks/ and exports `runbook`; `meridian runbook <name>`
 * finds it there.
 */
import type { EstateSpec } from "../estate.js";

export interface Runbook {
  /** CLI name: `meridian runbook <name> --stack <stack>`. */
  name: string;
  title: string;
  render(spec: EstateSpec): string;
}
