import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CHUNK_BYTES, EncodedValues } from '../../src/store/encoded-values.js'

describe('EncodedValues', () => {
  it('every held value reads back as the bytes given, through chunk compaction (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 40 }),
            fc.oneof(
              fc.uint8Array({ minLength: 1, maxLength: 900 }),
              fc.uint8Array({ minLength: CHUNK_BYTES / 4 + 1, maxLength: CHUNK_BYTES / 4 + 40 }),
              fc.constant(null),
            ),
          ),
          { maxLength: 300 },
        ),
        (ops) => {
          const held = new EncodedValues()
          const model = new Map<number, Uint8Array>()
          for (const [slot, bytes] of ops) {
            if (model.has(slot)) {
              held.release(slot)
              model.delete(slot)
            }
            if (bytes !== null) {
              // The caller's buffer may be reused: the held copy must not change with it.
              const wire = Uint8Array.from(bytes)
              held.hold(slot, wire)
              wire.fill(0xee)
              model.set(slot, bytes)
            }
            for (const [s, b] of model) {
              expect(held.has(s)).toBe(true)
              expect([...held.bytesOf(s)]).toEqual([...b])
              expect([...held.chunkOf(s).subarray(held.startOf(s), held.endOf(s))]).toEqual([...b])
            }
            expect(held.bytes).toBe([...model.values()].reduce((n, b) => n + b.length, 0))
            // Every chunk held on to has a live value, but the current one.
            expect(held.chunksHeld).toBeLessThanOrEqual(model.size + 1)
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 200) },
    )
  })

  it('a chunk left less than half live moves its survivors out, so memory stays near the bytes held', () => {
    const held = new EncodedValues()
    const value = new Uint8Array(100).fill(7)
    // Fill many chunks, then drop all but every tenth value: each chunk falls under half.
    for (let s = 0; s < 2_000; s++) held.hold(s, value)
    const chunks = () => {
      const seen = new Set<Uint8Array>()
      for (let s = 0; s < 2_000; s++) if (held.has(s)) seen.add(held.chunkOf(s))
      return seen.size
    }
    expect(chunks()).toBeGreaterThanOrEqual(Math.floor((2_000 * 100) / CHUNK_BYTES))
    for (let s = 0; s < 2_000; s++) if (s % 10 !== 0) held.release(s)
    // 200 values of 100 bytes: two chunks' worth, give or take the current one.
    expect(chunks()).toBeLessThanOrEqual(3)
    // The chunks left are not held on to (their numbers are free for new ones).
    expect(held.chunksHeld).toBeLessThanOrEqual(3)
    for (let s = 0; s < 2_000; s += 10) expect([...held.bytesOf(s)]).toEqual([...value])
    for (let s = 0; s < 2_000; s += 10) held.release(s)
    expect(held.chunksHeld).toBeLessThanOrEqual(1)
  })

  it('holds on to no chunk whose values are all gone, whether it filled up or was cleared', () => {
    const held = new EncodedValues()
    const value = new Uint8Array(1_000).fill(3)
    // One slot rewritten 10,000 times: each chunk fills with dead values only.
    for (let i = 0; i < 10_000; i++) {
      held.hold(5, value)
      held.release(5)
    }
    expect(held.chunksHeld).toBeLessThanOrEqual(1)
    for (let s = 0; s < 100; s++) held.hold(s, value)
    expect(held.chunksHeld).toBeGreaterThan(1)
    held.clear()
    expect(held.chunksHeld).toBe(0)
    held.hold(0, value)
    expect([...held.bytesOf(0)]).toEqual([...value])
  })
})
