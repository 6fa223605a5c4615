import { describe, expect, it } from 'vitest'
import { ManualClock, SystemClock } from '../../src/clock/clock.js'
import { TurnReading, turnClock, WRITES_PER_READING } from '../../src/clock/turn-clock.js'
import { createCache } from '../../src/node/create-cache.js'

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
})

describe('TurnReading', () => {
  it('writes take a new reading after WRITES_PER_READING of them; reads never within a turn', async () => {
    let t = 0
    let reads = 0
    const r = new TurnReading(() => {
      reads++
      return t
    })
    expect(r.readForWrite()).toBe(0)
    t = 10
    for (let i = 0; i < WRITES_PER_READING; i++) expect(r.readForWrite()).toBe(0)
    expect(r.read()).toBe(0)
    expect(r.readForWrite()).toBe(10) // the 65th write of the reading
    t = 20
    expect(r.read()).toBe(10) // a read after it sees what that write saw
    expect(reads).toBe(2)
    await Promise.resolve()
    expect(r.read()).toBe(20)
    expect(reads).toBe(3)
  })

  it('drops its reading at the next microtask checkpoint even where queueMicrotask is replaced', async () => {
    const original = globalThis.queueMicrotask
    globalThis.queueMicrotask = () => {} // what a test runner's fake timers do
    try {
      let t = 1
      const r = new TurnReading(() => t)
      expect(r.read()).toBe(1)
      t = 2
      await Promise.resolve()
      expect(r.read()).toBe(2)
    } finally {
      globalThis.queueMicrotask = original
    }
  })
})

describe('a write and the reads after it in one synchronous block', () => {
  it('a value written is there for every read after it, however long the block has run', async () => {
    const cache = await createCache()
    try {
      await cache.set('warm', 0)
      void cache.set('first', 1) // the block's first write: its reading of the clock
      const start = Date.now()
      while (Date.now() < start + 30) {
        // 30 ms of work in the same block
      }
      void cache.set('short', 2, { ttl: 10 })
      expect(cache.get('short')).toBe(2)
      expect(cache.has('short')).toBe(true)
      expect(cache.peek('short')).toBe(2)
    } finally {
      await cache.close()
    }
  })
})

describe('SystemClock.turnNow and writeNow (what reads see, what writes are stamped with)', () => {
  it('reads the corrected clock once per turn: reads and writes see one instant', async () => {
    let correction = 0
    const clock = new SystemClock({ correction: () => correction })
    const first = clock.turnNow()
    const start = Date.now()
    while (Date.now() < start + 3) {
      // the host clock moves on within this turn
    }
    expect(clock.turnNow()).toBe(first)
    expect(clock.writeNow()).toBe(first) // writes share the turn's reading
    correction = 500 // a mesh correction made within the turn shows from the next one
    expect(clock.turnNow()).toBe(first)
    await Promise.resolve()
    expect(clock.turnNow()).toBeGreaterThanOrEqual(first + 503)
    expect(clock.writeNow()).toBe(clock.turnNow())
  })

  it('reads a host given in the options every time (a test skews it within a turn)', () => {
    let host = 1_000
    const clock = new SystemClock({ host: () => host })
    expect(clock.turnNow()).toBe(1_000)
    host = 61_000
    expect(clock.turnNow()).toBe(61_000)
    host = 62_000
    expect(clock.writeNow()).toBe(62_000)
  })

  it('is now() on a manual clock', () => {
    const clock = new ManualClock(5_000)
    clock.advance(10)
    expect(clock.turnNow()).toBe(clock.now())
    expect(clock.writeNow()).toBe(clock.now())
  })
})
