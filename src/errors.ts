/**
 * Typed errors. Callers branch on `err.code`; messages are for people and say what to do.
 * @module
 */

/** Base class of every error meshcache throws. */
export class MeshcacheError extends Error {
  /** Stable machine-readable code, e.g. `ERR_INVALID_OPTION`. */
  static readonly code: string = 'ERR_MESHCACHE'
  /** Stable machine-readable code of this error. */
  readonly code: string

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof MeshcacheError).code
  }
}

/** An option passed to {@link createCache}, a keyspace or a call is invalid. */
export class InvalidOptionError extends MeshcacheError {
  static override readonly code = 'ERR_INVALID_OPTION'
}

/** A key is empty, not a string, or longer than the keyspace allows. */
export class InvalidKeyError extends MeshcacheError {
  static override readonly code = 'ERR_INVALID_KEY'
}

/** A value cannot be encoded with msgpack (functions, symbols, cyclic structures...). */
export class UnencodableValueError extends MeshcacheError {
  static override readonly code = 'ERR_UNENCODABLE_VALUE'
}

/** An encoded value is larger than `maxValueBytes`. */
export class ValueTooLargeError extends MeshcacheError {
  static override readonly code = 'ERR_VALUE_TOO_LARGE'
}

/** The cache was closed; no further calls are accepted. */
export class CacheClosedError extends MeshcacheError {
  static override readonly code = 'ERR_CACHE_CLOSED'
}

/** Input from the wire failed validation (malformed, oversized, forged). */
export class InvalidMessageError extends MeshcacheError {
  static override readonly code = 'ERR_INVALID_MESSAGE'
}

/** An operation that waits on the mesh did not complete in time. */
export class TimeoutError extends MeshcacheError {
  static override readonly code = 'ERR_TIMEOUT'
}

/** A write with `ack: 'peer' | 'quorum'` was not acknowledged by enough regions in time. */
export class AckTimeoutError extends MeshcacheError {
  static override readonly code = 'ERR_ACK_TIMEOUT'
  /** Regions (other than the writer's) that acknowledged before the deadline. */
  readonly acknowledged: string[]
  /** Regions needed for the requested ack level. */
  readonly required: number

  constructor(message: string, acknowledged: string[], required: number) {
    super(message)
    this.acknowledged = acknowledged
    this.required = required
  }
}

/**
 * This node's clock is more than `maxClockDrift` off a majority of the peers it measured,
 * and they do not agree on a correction: a write stamped now would be refused by those
 * peers as clock drift (or expire on arrival), so it is refused here instead of being
 * kept by this node alone. Retry on another node; fix this host's time source (NTP).
 * The HTTP API answers it 503.
 */
export class ClockSkewError extends MeshcacheError {
  static override readonly code = 'ERR_CLOCK_SKEW'
}

/** The mesh could not listen on a configured address (in use, not local, no permission). */
export class ListenError extends MeshcacheError {
  static override readonly code = 'ERR_LISTEN'
}

/** This Node.js is too old for meshcache (it needs Node.js 22 or newer). */
export class UnsupportedRuntimeError extends MeshcacheError {
  static override readonly code = 'ERR_UNSUPPORTED_RUNTIME'
}

/** Another live process holds the `dataDir` (two nodes on one directory would diverge for good). */
export class DataDirLockedError extends MeshcacheError {
  static override readonly code = 'ERR_DATA_DIR_LOCKED'
}

/**
 * A value as an error message quotes it ("got ..."): JSON where JSON can write it, else
 * a plain description (`5n`, `a function`, `a symbol`, `an object that JSON cannot
 * write`). Never throws: a message about a wrong value must not fail on that value.
 */
export function shown(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return `${value}n`
    case 'function':
      return 'a function'
    case 'symbol':
      return 'a symbol'
    case 'undefined':
      return 'undefined'
    case 'number':
      return String(value)
  }
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return 'an object that JSON cannot write'
  }
}
