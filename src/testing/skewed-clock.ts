import type { CacheOptions } from '../node/cache-options.js'
import { resolveCacheOptions } from '../node/cache-options.js'

/**
 * The host wall clock of one test node: the real `Date.now()` shifted by a skew that the
 * test changes at will, as on a host whose time source is off. It is handed to the node's
 * `createCache` as its `wallClock`, the raw clock that the node stamps writes with and
 * that its mesh measures against its peers' (timers are untouched, as on such a host).
 */
export class SkewedClock {
  /** How far this clock runs ahead of real time, ms (negative: behind). */
  skewMs = 0

  /** Reads the clock, ms since the epoch. */
  readonly now = (): number => Date.now() + this.skewMs
}

let supported: boolean | undefined

/**
 * True when `createCache` takes a `wallClock` option (the raw host clock of a node). A
 * node's raw clock is read in `src/node` and `src/mesh` only; without that option there
 * is no way to skew one node of a process and not the others.
 */
export function wallClockSupported(): boolean {
  if (supported === undefined) {
    try {
      resolveCacheOptions({ wallClock: Date.now } as unknown as CacheOptions)
      supported = true
    } catch {
      supported = false
    }
  }
  return supported
}
