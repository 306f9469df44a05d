/**
 * What a caller's name must be before a service keys anything by it. Services keep principals (a JWT's `sub`:
 * quota's owners and requesters, attest's revokers, escrow's buyers) as text in PostgreSQL or Redis, UTF-8 on
 * the wire. PostgreSQL's text cannot hold a NUL, so a NUL's write fails (and with it a batch it shares with
 * others, every time it is retried); a lone surrogate has no UTF-8 form and is stored as U+FFFD, so a token for
 * "victim\uD800" would act, once stored, as "victim\uFFFD", and callers differing only there would share one key.
 * The kit refuses a token whose `sub` breaks the principal rule (auth.ts), so no service sees one; a service
 * whose own stores are narrower adds its own bound (escrow's accounts: at most 128).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The principal rule, in the words a refusal gives (255: OpenID Connect's bound on `sub`). */
export const PRINCIPAL_RULE = "a string of 1-255 characters of well-formed Unicode, none of them NUL";

/** A name every store holds as given: a string of 1-255 UTF-16 units, no NUL, no lone surrogate. */
export const wellFormedPrincipal = (who: unknown): who is string => typeof who === "string" && who.length >= 1 && who.length <= 255 && !who.includes("\u0000") && !LONE_SURROGATE.test(who);

/** An escrow account (a buyer's sub; an HTLC recipient or mint owner): the principal rule, at most 128 characters. */
export const ACCOUNT_RULE = "1-128 characters of well-formed Unicode, none of them NUL";

export const wellFormedAccount = (who: string): boolean => who.length <= 128 && wellFormedPrincipal(who);
