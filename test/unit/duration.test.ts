import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../src/duration.js'
import { InvalidOptionError } from '../../src/errors.js'

describe('parseDuration', () => {
  it('reads ms numbers and unit strings', () => {
    expect(parseDuration(250, 'x')).toBe(250)
    expect(parseDuration('500ms', 'x')).toBe(500)
    expect(parseDuration('1.5s', 'x')).toBe(1500)
    expect(parseDuration('5m', 'x')).toBe(300_000)
    expect(parseDuration('1h', 'x')).toBe(3_600_000)
    expect(parseDuration('2d', 'x')).toBe(172_800_000)
    expect(() => parseDuration('-1s', 'x')).toThrow(InvalidOptionError)
    expect(() => parseDuration(Number.NaN, 'x')).toThrow(InvalidOptionError)
  })

  it('returns whole ms: a number with a fraction is rounded, as a string is', () => {
    expect(parseDuration(1500.5, 'x')).toBe(1501)
    expect(parseDuration(1500.4, 'x')).toBe(1500)
    expect(parseDuration('1500.5ms', 'x')).toBe(1501)
    expect(parseDuration(0.2, 'x')).toBe(0)
  })
})
