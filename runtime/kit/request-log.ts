/**
 * A request's logger (`req.log`), made only when the request logs. fastify gives every request a pino child
 * bound to its request id; pino serialises the bindings when the child is made, which costs microseconds
 * per request, although the kit logs no request one by one and almost none log at all. This stands in for
 * that child and makes the same child (same bindings and options) the first time it is used, so what a
 * request logs is unchanged.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn } from "pino";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

class RequestLogger {
  #child: FastifyBaseLogger | undefined;
  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;
  declare silent: LogFn;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bound: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  real(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bound, this.options));
  }

  get level(): LevelWithSilentOrString {
    return this.#child?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.real().level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }
}

// On the prototype, so a request that never logs allocates one small object, no closures.
for (const level of LEVELS)
  RequestLogger.prototype[level] = function (this: RequestLogger, ...args: unknown[]) {
    const real = this.real();
    (real[level] as (...a: unknown[]) => void).apply(real, args);
  } as LogFn;

/** fastify's `childLoggerFactory`: the request's logger, made on first use. */
export function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(logger, bindings, options);
}
