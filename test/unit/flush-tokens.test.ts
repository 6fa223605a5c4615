import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FlushTokens } from '../../src/replication/flush-tokens.js'

/**
 * Plays a sender that wants to flush at each of `wants` (ms, ascending) and flushes when
 * the tokens let it (at once, or when its wait is over: what waits meanwhile joins that
 * flush). Returns the times of the flushes made.
 */
function play(wants: number[], intervalMs: number, burst: number): number[] {
  const t = new FlushTokens(0, burst)
  const flushes: number[] = []
  let pendingAt: number | undefined
  for (const at of wants) {
    if (pendingAt !== undefined && pendingAt <= at) {
      t.take(pendingAt, intervalMs, burst)
      flushes.push(pendingAt)
      pendingAt = undefined
    }
    if (pendingAt !== undefined) continue // joins the flush that waits
    const wait = t.waitMs(at, intervalMs, burst)
    if (wait === 0) {
      t.take(at, intervalMs, burst)
      flushes.push(at)
    } else pendingAt = at + wait
  }
  if (pendingAt !== undefined) {
    t.take(pendingAt, intervalMs, burst)
    flushes.push(pendingAt)
  }
  return flushes
}

const times = fc
  .array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 300 })
  .map((a) => a.sort((x, y) => x - y))

describe('FlushTokens', () => {
  it('never delays a trickle: flushes an interval apart go at once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 4 }),
        (gaps, intervalMs, burst) => {
          const t = new FlushTokens(0, burst)
          let now = 0
          for (const g of gaps) {
            now += intervalMs + g
            expect(t.waitMs(now, intervalMs, burst)).toBe(0)
            t.take(now, intervalMs, burst)
          }
        },
      ),
    )
  })

  it('bounds flushes by the burst plus one per interval, whatever the load', () => {
    fc.assert(
      fc.property(
        times,
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 4 }),
        (wants, intervalMs, burst) => {
          const flushes = play(wants, intervalMs, burst)
          // In every window [a, b] of flush times: at most burst + (b - a) / interval flushes.
          for (let i = 0; i < flushes.length; i++) {
            for (let j = i; j < flushes.length; j++) {
              const span = flushes[j]! - flushes[i]!
              expect(j - i + 1).toBeLessThanOrEqual(burst + span / intervalMs + 1e-9)
            }
          }
        },
      ),
    )
  })

  it('delays no wish by more than one interval once the burst is spent', () => {
    fc.assert(
      fc.property(times, fc.integer({ min: 1, max: 100 }), (wants, intervalMs) => {
        const flushes = play(wants, intervalMs, 1)
        for (const at of wants) {
          const served = flushes.find((f) => f >= at)
          expect(served).toBeDefined()
          expect(served! - at).toBeLessThanOrEqual(intervalMs + 1e-9)
        }
      }),
    )
  })

  it('lets an urgent flush without a token cost the next one a single interval', () => {
    const t = new FlushTokens(0, 1)
    t.take(0, 25, 1)
    t.take(1, 25, 1) // urgent: no token was left
    expect(t.waitMs(1, 25, 1)).toBe(25)
    expect(t.waitMs(26, 25, 1)).toBe(0)
  })

  it('caps the reserve at the burst it is asked with (a link learnt to be remote)', () => {
    const t = new FlushTokens(0, 3)
    t.take(0, 25, 1)
    expect(t.waitMs(0, 25, 1)).toBe(25)
    const none = new FlushTokens(0, 3)
    expect(none.waitMs(0, 0, 3)).toBe(0) // interval 0: no pacing
  })
})
