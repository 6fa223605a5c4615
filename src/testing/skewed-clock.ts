import type { Clock } from '../clock/clock.js'

/**
 * The host wall clock of one test node: the host clock of `base` (the test mesh's system
 * clock) shifted by a skew that the test changes at will, as on a host whose time source
 * is off. It is handed to the node as its host clock (`NodeHooks.hostNow`), the raw clock
 * that the node stamps writes with and that its mesh measures against its peers' (timers
 * are untouched, as on such a host).
 */
export class SkewedClock {
  /** How far this clock runs ahead of real time, ms (negative: behind). */
  skewMs = 0
  readonly #base: Clock

  constructor(base: Clock) {
    this.#base = base
  }

  /** Reads the clock, ms since the epoch. */
  readonly now = (): number => this.#base.hostNow() + this.skewMs
}
