/** The NATS keys the allocator's config and a limiter's share (nats.ts), apart so the config loads without the client. */
import { z } from "zod";

/** A NATS URL, as the allocator's and a limiter's configs take it. */
export const natsUrlSchema = z.string().regex(/^(nats|tls):\/\/[^\s]+$/, "expected nats://host:port");

/** A subject prefix: requests on `<subject>.getcapacity.<client>`. */
export const natsSubjectSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "expected a NATS subject: dot-separated tokens, no wildcards")
  .default("meridian.ratelimit");
