import type { Clock } from '../clock/clock.js'

/**
 * Wall-clock time for reads, read once per synchronous turn of the event loop.
 *
 * A clock read costs ~35 ns on the machines we measured (about half of an lru-cache
 * hit), so `get` reads the clock once per turn and reuses it until the next microtask
 * checkpoint: every read in one synchronous block sees the same instant, as if it ran
 * at the block's start. An entry can thus be served past its expiry only within the
 * synchronous block in which it expired, a span during which the process does no I/O.
 * `set` stamps and expires writes on it too (docs/decisions/set-path.md); the purge sweep
 * reads the real clock. A clock that is stepped (`Clock.onStep`: a test's ManualClock)
 * drops the reading. Figures: docs/decisions/store.md.
 */
export function turnClock(
  source: () => number = Date.now,
  steps?: Pick<Clock, 'onStep'>,
): () => number {
  let cached = 0
  let valid = false
  const invalidate = () => {
    valid = false
  }
  // A clock stepped within a turn (a test's ManualClock) is read again at once.
  steps?.onStep?.(invalidate)
  return () => {
    if (!valid) {
      cached = source()
      valid = true
      queueMicrotask(invalidate)
    }
    return cached
  }
}
