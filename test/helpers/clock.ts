import type { Cache } from '../../src/api/cache.js'
import { type ManualClock, SystemClock } from '../../src/clock/clock.js'

/** A clock whose wall time is whatever `read` says (the test moves it); real timers. */
export function wallClock(read: () => number): SystemClock {
  const clock = new SystemClock()
  clock.now = read
  clock.hostNow = read
  return clock
}

/** Closes a node that runs on a manual clock: time moves while its close waits. */
export async function closeOnClock(cache: Cache<unknown>, clock: ManualClock): Promise<void> {
  let done = false
  const closing = cache.close().finally(() => {
    done = true
  })
  for (let i = 0; i < 400 && !done; i++) {
    clock.advance(100)
    await new Promise((r) => setTimeout(r, 5))
  }
  await closing
}
