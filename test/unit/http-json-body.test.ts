import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { exactNumbers, mayChange } from '../../src/http/json-body.js'

// The quick filter decides which bodies skip the reviver that refuses numbers parsing
// would change: it may send a harmless body through it, but must never let one through
// that the reviver would refuse.

const changed = (text: string): boolean => {
  try {
    JSON.parse(text, exactNumbers as never)
    return false
  } catch {
    return true
  }
}

const numberText = fc.oneof(
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.constantFrom('1e400', '-1e400', '1e-400', '1E+999', '9007199254740993', '0.5e-3', '12e3'),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
)

describe('parseJson: which bodies the reviver must see', () => {
  it('never skips one the reviver refuses (numbers anywhere, digits in strings and keys)', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.array(fc.tuple(fc.string(), numberText, fc.string()), { maxLength: 4 }),
        (base, extra) => {
          const parts = extra.map(
            ([k, n, s]) =>
              `${JSON.stringify(k)}:${n},"s${JSON.stringify(s).slice(1)}:${JSON.stringify(`${s}12345678901234567890`)}`,
          )
          const text = `{"base":${JSON.stringify(base)}${parts.map((p) => `,${p}`).join('')}}`
          if (changed(text)) expect(mayChange(text)).toBe(true)
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it('skips long digit runs inside strings', () => {
    expect(mayChange('{"id":"12345678901234567890","ts":1733600000000}')).toBe(false)
    expect(mayChange('{"id":"x\\"12345678901234567890"}')).toBe(false)
    expect(mayChange('{"n":12345678901234567890}')).toBe(true)
    expect(mayChange('[1e400]')).toBe(true)
    expect(mayChange('[true,false,1e30]')).toBe(false)
  })
})
