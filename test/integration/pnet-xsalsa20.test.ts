// Known answers for the pnet cipher (src/mesh/pnet-xsalsa20.ts), from the NaCl test suite
// (the vectors libsodium and the `xsalsa20` package test against), and the streaming
// contract the protector relies on: any split of the stream gives the same bytes.
import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { XSalsa20 } from '../../src/mesh/pnet-xsalsa20.js'

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'))
// NaCl tests: "firstkey" and "nonce".
const KEY = hex('1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389')
const NONCE = hex('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37')

describe('XSalsa20 (pnet cipher)', () => {
  it('matches NaCl crypto_stream_xsalsa20 (tests/stream3.c, tests/stream.c)', () => {
    expect(Buffer.from(new XSalsa20(NONCE, KEY).update(new Uint8Array(32))).toString('hex')).toBe(
      'eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880',
    )
    // SHA-256 of the first 4,194,304 keystream bytes (65,536 blocks).
    const stream = new XSalsa20(NONCE, KEY).update(new Uint8Array(4_194_304))
    expect(createHash('sha256').update(stream).digest('hex')).toBe(
      '662b9d0e3463029156069b12f918691a98f7dfb2ca0393c96bbfc6b1fbd630a2',
    )
  })

  it('matches NaCl crypto_stream_xsalsa20_xor (tests/secretbox.c), byte by byte too', () => {
    const message = hex(
      `${'00'.repeat(32)}be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705`,
    )
    const cipher =
      '8e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74e355a5'
    const whole = new XSalsa20(NONCE, KEY).update(message)
    expect(Buffer.from(whole.subarray(32)).toString('hex')).toBe(cipher)
    const xor = new XSalsa20(NONCE, KEY)
    const bytewise = new Uint8Array(message.length)
    for (let i = 0; i < message.length; i++)
      xor.update(message.subarray(i, i + 1), bytewise.subarray(i, i + 1))
    expect(bytewise).toEqual(whole)
  })

  it('gives the same stream for any split, offset or in-place use, and decrypts', () => {
    const key = randomBytes(32)
    const nonce = randomBytes(24)
    const data = randomBytes(300_001)
    const reference = new XSalsa20(nonce, key).update(data)
    for (let trial = 0; trial < 20; trial++) {
      const xor = new XSalsa20(nonce, key)
      // Unaligned output (byteOffset 3) and in-place on a copy, alternately.
      const out = trial % 2 ? Buffer.alloc(data.length + 3).subarray(3) : Buffer.from(data)
      for (let offset = 0; offset < data.length; ) {
        const len = Math.min(Math.floor(Math.random() ** 3 * 20_000), data.length - offset)
        const src =
          trial % 2 ? data.subarray(offset, offset + len) : out.subarray(offset, offset + len)
        xor.update(src, out.subarray(offset, offset + len))
        offset += len
      }
      expect(out.equals(reference)).toBe(true)
    }
    expect(Buffer.from(new XSalsa20(nonce, key).update(reference)).equals(data)).toBe(true)
  })

  it('checks lengths and refuses use after destroy', () => {
    expect(() => new XSalsa20(new Uint8Array(23), KEY)).toThrow(RangeError)
    expect(() => new XSalsa20(NONCE, new Uint8Array(31))).toThrow(RangeError)
    const xor = new XSalsa20(NONCE, KEY)
    expect(() => xor.update(new Uint8Array(2), new Uint8Array(1))).toThrow(RangeError)
    xor.destroy()
    expect(() => xor.update(new Uint8Array(1))).toThrow(/after destroy/)
  })
})
