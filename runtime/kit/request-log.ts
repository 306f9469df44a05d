/**
 * A request's logger (`req.log`), made only when the request logs. fastify gives every request a pino child
 * bound to its request id; pino serialises the bindings when the child is made, which costs microseconds
 * per request, although the kit logs no request one by one and almost none log at all. This stands in for
 * that child and makes the same child (same bindings and options) the first time it is used, so what a
 * request logs is unchanged. It is the app logger's own `child()` that makes it, not a fastify
 * `childLoggerFactory`: fastify checks every logger a custom factory returns for seven methods, with an
 * array and a closure per request — about as much as the pino child it replaced.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString, LogFn, Logger } from "pino";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

type MakeChild = (this: FastifyBaseLogger, bindings: Bindings, options?: ChildLoggerOptions) => FastifyBaseLogger;

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
    private readonly make: MakeChild,
    private readonly bound: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  real(): FastifyBaseLogger {
    return (this.#child ??= this.make.call(this.parent, this.bound, this.options));
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

  // The rest of a pino logger's API, for a caller other than fastify's request path that asks the app logger for a child.
  isLevelEnabled(level: string): boolean {
    return (this.real() as unknown as Logger).isLevelEnabled(level);
  }

  bindings(): Bindings {
    return (this.real() as unknown as Logger).bindings();
  }

  setBindings(bindings: Bindings): void {
    (this.real() as unknown as Logger).setBindings(bindings);
  }

  flush(cb?: (err?: Error) => void): void {
    (this.real() as unknown as Logger).flush(cb);
  }
}

// On the prototype, so a request that never logs allocates one small object, no closures.
for (const level of LEVELS)
  RequestLogger.prototype[level] = function (this: RequestLogger, ...args: unknown[]) {
    const real = this.real();
    (real[level] as (...a: unknown[]) => void).apply(real, args);
  } as LogFn;

/**
 * Make the children of fastify's logger (`app.log`; fastify makes each request's with `app.log.child`) on
 * first use. The child it finally makes is the one `app.log.child` made before (pino's, or the caller's own).
 */
export function lazyChildren(logger: FastifyBaseLogger): void {
  const make = logger.child as MakeChild;
  logger.child = function (this: FastifyBaseLogger, bindings: Bindings, options?: ChildLoggerOptions) {
    return new RequestLogger(this, make, bindings, options ?? {}) as unknown as FastifyBaseLogger;
  } as FastifyBaseLogger["child"];
}
