/** Settled once: `then` on it runs at the next microtask checkpoint. */
const SETTLED = Promise.resolve()

/**
 * Wall-clock time for reads, read once per synchronous turn of the event loop.
 *
 * A clock read costs ~35 ns on the machines we measured (about half of an lru-cache
 * hit), so `get` reads the clock once per turn and reuses it until the next microtask
 * checkpoint: every read in one synchronous block sees the same instant, as if it ran
 * at the block's start. An entry can thus be served past its expiry only within the
 * synchronous block in which it expired, a span during which the process does no I/O.
 * Writes and the purge sweep read the real clock. Figures: docs/decisions/store.md.
 */
export function turnClock(source: () => number = Date.now): () => number {
  let cached = 0
  let valid = false
  const invalidate = () => {
    valid = false
  }
  return () => {
    if (!valid) {
      cached = source()
      valid = true
      // A resolved promise's `then`, not `queueMicrotask`: test runners' fake timers (Jest's
      // by default) replace `queueMicrotask`, which would freeze every read's clock.
      void SETTLED.then(invalidate)
    }
    return cached
  }
}
