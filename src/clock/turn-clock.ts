/**
 * A time source read once per synchronous turn of the event loop.
 *
 * A clock read costs ~35-47 ns on the machines we measured (about half of an lru-cache
 * hit, a fifth of its set), so `get` reads the node's clock once per turn, and writes read
 * the host's clock once per turn ({@link SystemClock.turnNow}, its correction every time),
 * reusing the reading until the next microtask checkpoint: every call in one synchronous
 * block sees the same instant, as if it ran at the block's start. An entry can thus be
 * served past its expiry only within the synchronous block in which it expired, a span
 * during which the process does no I/O; a write's expiry counts from the block's start.
 * The purge sweep reads the real clock. Figures: docs/decisions/store.md and set-path.md.
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
      queueMicrotask(invalidate)
    }
    return cached
  }
}
