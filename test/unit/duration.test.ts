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
})
