import { SystemClock } from '../../src/clock/clock.js'

/** A clock whose wall time is whatever `read` says (the test moves it); real timers. */
export function wallClock(read: () => number): SystemClock {
  const clock = new SystemClock()
  clock.now = read
  clock.hostNow = read
  return clock
}
