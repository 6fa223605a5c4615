import { describe, expect, it, vi } from 'vitest'
import { ManualClock, SystemClock } from '../../src/clock/clock.js'
import { SkewedClock } from '../../src/testing/skewed-clock.js'

/** Timers that keep the process alive right now. */
const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

describe('SystemClock', () => {
  it('now() is the host clock plus the correction, read at every call; hostNow() is the host clock', () => {
    let host = 1_000
    let correction = 0
    const clock = new SystemClock({ host: () => host, correction: () => correction })
    expect([clock.now(), clock.hostNow()]).toEqual([1_000, 1_000])
    host = 2_000
    correction = -250
    expect([clock.now(), clock.hostNow()]).toEqual([1_750, 2_000])
  })

  it("a node's timers never keep the process alive; a keepAlive clock's do, until they fire or are cancelled", async () => {
    const before = refTimers()
    const node = new SystemClock()
    const a = node.after(60_000, () => {})
    const b = node.every(60_000, () => {})
    expect(refTimers()).toBe(before)
    a.cancel()
    b.cancel()

    const harness = new SystemClock({ keepAlive: true })
    const c = harness.after(60_000, () => {})
    expect(refTimers()).toBe(before + 1)
    c.cancel()
    expect(refTimers()).toBe(before)
    const slept = harness.sleep(5)
    expect(refTimers()).toBe(before + 1)
    await slept
  })
})

describe('SystemClock, waits longer than a Node timer takes (2^31 - 1 ms, ~24.8 days)', () => {
  const DAYS_30 = 30 * 86_400_000

  it('after() fires once, at the due time, not 1 ms later (a 30-day TTL used to busy-loop the sweep)', () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'],
    })
    try {
      const clock = new SystemClock()
      let fired = 0
      clock.after(DAYS_30, () => fired++)
      vi.advanceTimersByTime(1_000)
      expect(fired).toBe(0)
      vi.advanceTimersByTime(DAYS_30 - 1_001)
      expect(fired).toBe(0)
      vi.advanceTimersByTime(1)
      expect(fired).toBe(1)
      vi.advanceTimersByTime(DAYS_30 * 2)
      expect(fired).toBe(1)
      // Cancelled between legs: never fires.
      const t = clock.after(DAYS_30, () => fired++)
      vi.advanceTimersByTime(2 ** 31)
      t.cancel()
      vi.advanceTimersByTime(DAYS_30)
      expect(fired).toBe(1)
    } finally {
      vi.useRealTimers()
    }
  })

  it('every() fires every period, however long', () => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'],
    })
    try {
      const clock = new SystemClock()
      let fired = 0
      const t = clock.every(DAYS_30, () => fired++)
      vi.advanceTimersByTime(DAYS_30 - 1)
      expect(fired).toBe(0)
      vi.advanceTimersByTime(1)
      expect(fired).toBe(1)
      vi.advanceTimersByTime(DAYS_30)
      expect(fired).toBe(2)
      t.cancel()
      vi.advanceTimersByTime(DAYS_30 * 3)
      expect(fired).toBe(2)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('SkewedClock (meshcache/testing)', () => {
  it('reads the host clock of the clock it is built on, shifted by the skew set at will', () => {
    const base = new ManualClock(1_700_000_000_000)
    base.correctionMs = 5 // a correction of the base is not the host's: not followed
    const skewed = new SkewedClock(base)
    expect(skewed.now()).toBe(1_700_000_000_000)
    skewed.skewMs = -1_800_000
    base.advance(1_000)
    expect(skewed.now()).toBe(1_700_000_001_000 - 1_800_000)
    skewed.skewMs = 0
    expect(skewed.now()).toBe(base.hostNow())
  })
})

describe('ManualClock', () => {
  it('reads whole ms, as Date.now() does, after a timer due at a fractional time (a jittered period) fired', () => {
    const clock = new ManualClock(1_700_000_000_000)
    let fired = 0
    clock.after(2.6, () => {
      fired++
      // Read inside the callback too: a send time taken there goes on the wire.
      expect(Number.isSafeInteger(clock.now())).toBe(true)
    })
    clock.advance(3)
    expect(fired).toBe(1)
    expect(clock.monotonic()).toBe(3)
    clock.after(0.4, () => fired++)
    clock.advance(1)
    expect(fired).toBe(2)
    // The monotonic clock keeps the fraction; the wall clock reads floored ms of it.
    expect(clock.now()).toBe(1_700_000_000_004)
    clock.advance(0.5)
    expect([clock.now(), clock.hostNow()]).toEqual([1_700_000_000_004, 1_700_000_000_004])
    clock.correctionMs = 7
    expect(clock.now()).toBe(1_700_000_000_011)
  })
})
