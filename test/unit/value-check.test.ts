import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidKeyError, InvalidOptionError, UnencodableValueError } from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { checkStorable } from '../../src/replication/value-check.js'
import {
  decodeStored,
  encodeStored,
  holdsReplacementChar,
} from '../../src/replication/value-codec.js'

/** What a replica reads of a value the writer holds: the bytes the writer sends, decoded. */
const replicaRead = (key: string, v: unknown) => decodeStored(encodeStored(key, v, undefined)).value

class Profile {
  name = 'Ada'
}

describe('values read the same on the writer and on every replica', () => {
  it.each([
    ['a nested function', { user: { cb: () => 1, n: 1 } }, /value\.user\.cb is a function/],
    ['a Map', { m: new Map([[1, 2]]) }, /value\.m is a Map/],
    ['a class instance', { p: new Profile() }, /value\.p is an instance of Profile/],
    ['an Error', [new Error('x')], /value\[0\] is an Error/],
    ['a nested symbol', { s: Symbol('s') }, /value\.s is a symbol/],
    ['a boxed number', { 'n b': new Number(1) }, /value\["n b"\] is a boxed Number/],
    ['a __proto__ key', JSON.parse('{"a":{"__proto__":{"x":1}}}'), /__proto__/],
    ['a function inside a Set', new Set([() => 1]), /value\[Set member\] is a function/],
    ['a Promise', { p: Promise.resolve(1) }, /value\.p is a Promise/],
  ])('refuses %s, naming the path', async (_what, value, message) => {
    const cache = await createCache()
    try {
      const err = await cache.set('k', value).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UnencodableValueError)
      expect((err as Error).message).toMatch(message)
      expect((err as Error).message).toContain("key 'k'")
      expect(cache.has('k')).toBe(false)
    } finally {
      await cache.close()
    }
  })

  it('refuses a cycle with a typed error, not a stack overflow', async () => {
    const cache = await createCache()
    try {
      const a: Record<string, unknown> = { n: 1 }
      a.self = a
      await expect(cache.set('k', a)).rejects.toThrow(/nested deeper than/)
    } finally {
      await cache.close()
    }
  })

  it.each([
    ['-0', -0, 0],
    ['a nested -0', { x: [-0] }, { x: [0] }],
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    ['a sparse array', [, 1], [undefined, 1]],
    ['a prototype-less object', Object.assign(Object.create(null), { a: 1 }), { a: 1 }],
  ])('keeps %s on the writer in the form replicas read', async (_what, value, read) => {
    const cache = await createCache()
    try {
      await cache.set('k', value)
      expect(isDeepStrictEqual(cache.get('k'), read)).toBe(true)
      expect(isDeepStrictEqual(cache.get('k'), replicaRead('k', cache.get('k')))).toBe(true)
    } finally {
      await cache.close()
    }
  })

  it('keeps a string or property name with a lone surrogate in the form replicas read (U+FFFD) wherever bytes are made, the writer included', async () => {
    const value = () => ({
      s: 'a\ud800b',
      'k\udc00': ['\udfff', new Set(['x\ud800'])],
      ok: '\ud83d\ude00',
    })
    // Bytes are made: a byte limit (a mesh and a data dir likewise).
    const bytes = await createCache({ maxBytes: 1_000_000 })
    // No bytes, no other reader: the writer keeps what it was given.
    const plain = await createCache()
    try {
      await bytes.set('k', value())
      const held = bytes.get('k') as Record<string, unknown>
      expect(held.s).toBe('a\ufffdb')
      expect(Object.keys(held)).toEqual(['s', 'k\ufffd', 'ok'])
      expect(held.ok).toBe('\ud83d\ude00')
      expect(isDeepStrictEqual(held, replicaRead('k', value()))).toBe(true)
      // A U+FFFD the value really holds reads the same too.
      await bytes.set('r', { s: 'a\ufffdb' })
      expect(bytes.get('r')).toEqual({ s: 'a\ufffdb' })
      await plain.set('k', value())
      expect((plain.get('k') as Record<string, unknown>).s).toBe('a\ud800b')
    } finally {
      await bytes.close()
      await plain.close()
    }
  })

  it('property: the bytes of any string hold U+FFFD exactly when it has a lone surrogate or U+FFFD (no lone surrogate goes unseen)', () => {
    const unit = fc.oneof(
      fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ufffd'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    )
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 300 }), (str) => {
        const wellFormed = (str as unknown as { isWellFormed(): boolean }).isWellFormed()
        const expected = !wellFormed || str.includes('\ufffd')
        expect(holdsReplacementChar(encodeStored('k', str, undefined))).toBe(expected)
        expect(holdsReplacementChar(encodeStored('k', { [str]: 1 }, undefined))).toBe(expected)
      }),
      { numRuns: 500 },
    )
  })

  it('refuses a key or a tag with a lone surrogate on every write verb (another key or tag on other nodes), typed', async () => {
    const cache = await createCache()
    let loads = 0
    try {
      for (const write of [
        () => cache.set('a\ud800', 1),
        () =>
          cache.setMany([
            ['ok', 1],
            ['\udc00', 2],
          ]),
        () => cache.delete('b\udfff'),
        () =>
          cache.fetch('c\ud800', {
            load: async () => {
              loads++
              return 1
            },
          }),
      ]) {
        const err = await write().catch((e: unknown) => e)
        expect(err).toBeInstanceOf(InvalidKeyError)
        expect((err as Error).message).toMatch(/lone surrogate/)
      }
      expect(cache.has('ok')).toBe(false)
      // fetch refuses before it looks anywhere or loads.
      expect(loads).toBe(0)
      // A node id travels in every version it stamps.
      await expect(createCache({ nodeId: 'n\ud800' })).rejects.toThrow(/lone surrogates/)
      await expect(cache.set('t', 1, { tags: ['x\ud800'] })).rejects.toThrow(InvalidOptionError)
      await expect(cache.invalidateTags(['\udc00'])).rejects.toThrow(InvalidOptionError)
      // A read of such a key is no error: it was never written.
      expect(cache.get('a\ud800')).toBeUndefined()
      // A well-formed pair is a key like any other.
      await cache.set('\ud83d\ude00', 1)
      expect(cache.get('\ud83d\ude00')).toBe(1)
    } finally {
      await cache.close()
    }
  })

  it('keeps data of every supported type as is (the writer holds the very object)', () => {
    const value = {
      s: 'x',
      n: Number.NaN,
      i: Number.POSITIVE_INFINITY,
      b: 2n ** 70n,
      d: new Date(5),
      r: /a/g,
      set: new Set([1, 'a']),
      u8: new Uint8Array([1]),
      buf: Buffer.from('ab'),
      f: new Float64Array([1.5]),
      u: undefined,
      a: [undefined, null, true],
    }
    expect(checkStorable('k', value)).toBe(true)
    expect(isDeepStrictEqual(replicaRead('k', value), value)).toBe(true)
  })

  it('property: for any value, the writer, a replica and a restart read the same, or set threw', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-values-'))
    const accepted = new Map<string, unknown>()
    const value = fc.anything({
      maxDepth: 3,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withObjectString: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
      // Any UTF-16 code units: lone surrogates too (UTF-8 has no form for one).
      stringUnit: fc.oneof(
        fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
      ),
    })
    try {
      const writer = await createCache({ dataDir: dir, snapshotInterval: '1h' })
      try {
        let i = 0
        await fc.assert(
          fc.asyncProperty(value, async (v) => {
            const key = `k${i++}`
            try {
              await writer.set(key, v)
            } catch (err) {
              expect(err).toBeInstanceOf(UnencodableValueError)
              return
            }
            const held = writer.get(key)
            expect(isDeepStrictEqual(held, replicaRead(key, held))).toBe(true)
            // What the writer sends is what the replica reads: the same as the writer's.
            expect(isDeepStrictEqual(held, replicaRead(key, v))).toBe(true)
            accepted.set(key, held)
          }),
          { numRuns: 400 },
        )
      } finally {
        await writer.close()
      }
      const restarted = await createCache({ dataDir: dir })
      try {
        for (const [key, held] of accepted)
          expect(isDeepStrictEqual(restarted.get(key), held), key).toBe(true)
      } finally {
        await restarted.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
