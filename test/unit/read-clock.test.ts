import { describe, expect, it } from 'vitest'
import { turnClock } from '../../src/api/read-clock.js'

describe('turnClock', () => {
  it('reads the source once per synchronous turn and again after a microtask checkpoint', async () => {
    let t = 100
    let reads = 0
    const now = turnClock(() => {
      reads++
      return t
    })
    expect(now()).toBe(100)
    t = 200
    expect(now()).toBe(100)
    expect(reads).toBe(1)
    await Promise.resolve()
    expect(now()).toBe(200)
    expect(reads).toBe(2)
  })

  it('drops its reading at the next microtask checkpoint even where queueMicrotask is replaced', async () => {
    const original = globalThis.queueMicrotask
    globalThis.queueMicrotask = () => {} // what a test runner's fake timers do
    try {
      let t = 1
      const now = turnClock(() => t)
      expect(now()).toBe(1)
      t = 2
      await Promise.resolve()
      expect(now()).toBe(2)
    } finally {
      globalThis.queueMicrotask = original
    }
  })
})
