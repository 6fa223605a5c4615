import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { INCARNATION_FILE, nextIncarnation } from '../../src/persist/incarnation.js'

const dirs: string[] = []
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'meshcache-incarnation-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const T = 1_800_000_000_000

describe('nextIncarnation', () => {
  it('without a data dir: the start time with a random fraction', () => {
    const i = nextIncarnation(undefined, T)
    expect(i).toBeGreaterThanOrEqual(T)
    expect(i).toBeLessThan(T + 1)
  })

  it('with a data dir: above every earlier start, whatever the clock did in between', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -3_600_000, max: 3_600_000 }), { minLength: 2, maxLength: 12 }),
        (offsets) => {
          const d = dir()
          let last = Number.NEGATIVE_INFINITY
          for (const off of offsets) {
            const i = nextIncarnation(d, T + off)
            expect(i).toBeGreaterThan(last)
            // Never below the start time: a clock that moved forward is followed.
            expect(i).toBeGreaterThanOrEqual(T + off)
            last = i
          }
        },
      ),
      { numRuns: 50 },
    )
  })

  it('a clock set back 30 minutes still gets a higher incarnation; a damaged file restarts from the clock', () => {
    const d = dir()
    const ahead = nextIncarnation(d, T + 1_800_000)
    expect(nextIncarnation(d, T)).toBeGreaterThan(ahead)
    for (const damaged of ['not a number', '1e300', 'Infinity']) {
      writeFileSync(join(d, INCARNATION_FILE), damaged)
      const fresh = nextIncarnation(d, T)
      expect(fresh).toBeGreaterThanOrEqual(T)
      expect(fresh).toBeLessThan(T + 1)
    }
  })
})
