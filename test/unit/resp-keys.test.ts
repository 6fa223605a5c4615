import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { globMatch } from '../../src/resp/glob.js'
import { hasByteForm, keyBytes, keyOf } from '../../src/resp/key-codec.js'
import { hash53 } from '../../src/resp/scan-cursor.js'

describe('key codec (Redis bytes <-> meshcache keys)', () => {
  it('is one to one: different byte strings never share a key, and keys give their bytes back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        const ka = keyOf(a)
        expect([...keyBytes(ka)]).toEqual([...a])
        if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) expect(keyOf(b)).not.toBe(ka)
      }),
      { numRuns: 2000 },
    )
  })
  it('maps UTF-8 text keys to the same text (the key HTTP and Node see)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }), (text) => {
        fc.pre(text.charCodeAt(0) > 1)
        expect(keyOf(Buffer.from(text, 'utf8'))).toBe(text)
      }),
    )
    expect(keyOf(Buffer.from('user:42'))).toBe('user:42')
    expect(keyOf(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toBe('\ufeffA')
  })
  it('gives any key back through its bytes, or says it has none (its UTF-8 bytes then)', () => {
    const latin1 = fc.string({
      unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)),
    })
    const key = fc.oneof(
      // Keys starting with the mark, as HTTP or Node may write them: `\u0001abc`.
      latin1.map((s) => `\u0001${s}`),
      fc.string({ unit: 'binary' }).map((s) => `\u0001${s}`),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('\u0000', '\u0001', 'a', '\u00e9', '\ud800', '\u4e2d') }),
      fc.uint8Array({ maxLength: 20 }).map((b) => keyOf(b)),
    )
    fc.assert(
      fc.property(key, (k) => {
        const bytes = keyBytes(k)
        const back = keyOf(bytes) === k
        expect(hasByteForm(k)).toBe(back)
        if (!back) expect(bytes.toString('hex')).toBe(Buffer.from(k, 'utf8').toString('hex'))
      }),
      { numRuns: 3000 },
    )
    // The reproduced collision: `\u0001abc` (written over HTTP) must not read as `abc`.
    expect(keyBytes('\u0001abc').toString('latin1')).toBe('\u0001abc')
    expect(hasByteForm('\u0001abc')).toBe(false)
    expect(hasByteForm('abc')).toBe(true)
  })
  it('gives every byte string a valid key: empty, NUL-led and invalid UTF-8 ones are marked', () => {
    expect(keyOf(Buffer.alloc(0))).toBe('\u0001')
    expect(keyOf(Buffer.from([0, 1]))).toBe('\u0001\u0000\u0001')
    expect(keyOf(Buffer.from([0xff, 0x41]))).toBe('\u0001\u00ffA')
  })
})

describe('glob (Redis stringmatchlen)', () => {
  const m = (p: string, k: string) => globMatch(Buffer.from(p, 'latin1'), Buffer.from(k, 'latin1'))
  it('matches as Redis does', () => {
    expect(m('*', '')).toBe(true)
    expect(m('h?llo', 'hello')).toBe(true)
    expect(m('h*llo', 'heeeello')).toBe(true)
    expect(m('h[ae]llo', 'hallo')).toBe(true)
    expect(m('h[ae]llo', 'hillo')).toBe(false)
    expect(m('h[^e]llo', 'hallo')).toBe(true)
    expect(m('h[^e]llo', 'hello')).toBe(false)
    expect(m('h[a-b]llo', 'hbllo')).toBe(true)
    expect(m('h[b-a]llo', 'hallo')).toBe(true)
    expect(m('h\\*llo', 'h*llo')).toBe(true)
    expect(m('h\\*llo', 'hello')).toBe(false)
    expect(m('user:*:name', 'user:42:name')).toBe(true)
    expect(m('user:*:name', 'user:42:email')).toBe(false)
    expect(m('a*b*c', 'aXbYc')).toBe(true)
    expect(m('a*b*c', 'aXbY')).toBe(false)
  })
  it('agrees with a regular expression on patterns of literals, ? and *', () => {
    const alphabet = fc.constantFrom('a', 'b', '?', '*')
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 8 }).map((a) => a.join('')),
        fc.array(fc.constantFrom('a', 'b'), { maxLength: 10 }).map((a) => a.join('')),
        (pattern, key) => {
          const re = new RegExp(`^${pattern.replaceAll('?', '.').replaceAll('*', '.*')}$`, 's')
          expect(m(pattern, key)).toBe(re.test(key))
        },
      ),
      { numRuns: 2000 },
    )
  })
  it('stays linear on hostile patterns', () => {
    const t = performance.now()
    expect(m(`${'*a'.repeat(200)}b`, 'a'.repeat(5000))).toBe(false)
    expect(performance.now() - t).toBeLessThan(2000)
  })
})

describe('hash53 (SCAN cursors)', () => {
  it('is never 0 and stays below 2^53', () => {
    fc.assert(
      fc.property(fc.option(fc.string()), fc.string(), (prefix, key) => {
        const h = hash53(prefix ?? undefined, key)
        expect(h).toBeGreaterThan(0)
        expect(Number.isSafeInteger(h)).toBe(true)
      }),
    )
  })
})
