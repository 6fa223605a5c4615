import { pureJsCrypto } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keptSigningKey, noiseCrypto } from '../../src/mesh/noise-crypto.js'

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('noiseCrypto: the library crypto with key objects kept per key', () => {
  it('HKDF gives the pure-JS implementation bytes for any chaining key and input', () => {
    fc.assert(
      fc.property(bytes(32), fc.uint8Array({ maxLength: 64 }), (ck, ikm) => {
        expect(noiseCrypto.getHKDF(ck, ikm).map(hex)).toEqual(
          pureJsCrypto.getHKDF(ck, ikm).map(hex),
        )
      }),
    )
  })

  it('a generated pair agrees with the pure-JS X25519 both ways', () => {
    for (let i = 0; i < 20; i++) {
      const ours = noiseCrypto.generateX25519KeyPair()
      const theirs = pureJsCrypto.generateX25519KeyPair()
      expect(hex(pureJsCrypto.generateX25519KeyPairFromSeed(ours.privateKey).publicKey)).toBe(
        hex(ours.publicKey),
      )
      const shared = noiseCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey)
      expect(hex(shared)).toBe(
        hex(pureJsCrypto.generateX25519SharedKey(theirs.privateKey, ours.publicKey)),
      )
      // The second use of the same arrays (the cached key objects) gives the same key.
      expect(hex(noiseCrypto.generateX25519SharedKey(ours.privateKey, theirs.publicKey))).toBe(
        hex(shared),
      )
    }
  })

  it('a key array written again since its first use is parsed again', () => {
    const a = noiseCrypto.generateX25519KeyPair()
    const b = pureJsCrypto.generateX25519KeyPair()
    const c = pureJsCrypto.generateX25519KeyPair()
    const pub = new Uint8Array(b.publicKey)
    noiseCrypto.generateX25519SharedKey(a.privateKey, pub)
    pub.set(c.publicKey)
    expect(hex(noiseCrypto.generateX25519SharedKey(a.privateKey, pub))).toBe(
      hex(pureJsCrypto.generateX25519SharedKey(a.privateKey, c.publicKey)),
    )
    const priv = new Uint8Array(a.privateKey)
    noiseCrypto.generateX25519SharedKey(priv, c.publicKey)
    priv.set(b.privateKey)
    expect(hex(noiseCrypto.generateX25519SharedKey(priv, c.publicKey))).toBe(
      hex(pureJsCrypto.generateX25519SharedKey(b.privateKey, c.publicKey)),
    )
  })

  it('messages of any size cross with the library default in both directions', () => {
    fc.assert(
      fc.property(
        bytes(32),
        bytes(12),
        fc.uint8Array({ maxLength: 32 }),
        fc.integer({ min: 0, max: 5000 }),
        (k, nonce, ad, size) => {
          const plain = new Uint8Array(size).map((_, i) => (i * 31 + k[0]!) & 255)
          const sealed = noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k).subarray()
          expect(hex(sealed)).toBe(
            hex(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k).subarray()),
          )
          expect(hex(defaultCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k).subarray())).toBe(
            hex(plain),
          )
          expect(hex(noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k).subarray())).toBe(
            hex(plain),
          )
        },
      ),
      { numRuns: 60 },
    )
  })

  it('a tampered message or another key is refused, also once the key object is kept', () => {
    const k = new Uint8Array(32).fill(7)
    const nonce = new Uint8Array(12)
    const plain = new Uint8Array(3000).fill(1)
    const sealed = new Uint8Array(
      noiseCrypto.chaCha20Poly1305Encrypt(plain, nonce, new Uint8Array(0), k).subarray(),
    )
    sealed[100] = sealed[100]! ^ 1
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, new Uint8Array(0), k)).toThrow()
    sealed[100] = sealed[100]! ^ 1
    k[0] = 8 // the same array, other bytes: its kept key object must not be used
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, new Uint8Array(0), k)).toThrow()
  })
})

describe('keptSigningKey: the node key signing with one key object', () => {
  it('signs what the library signs, and verifies with the same public key', async () => {
    const { generateKeyPair } = await import('@libp2p/crypto/keys')
    const key = await generateKeyPair('Ed25519')
    const kept = keptSigningKey(key)
    for (const size of [0, 1, 100, 5000]) {
      const msg = new Uint8Array(size).fill(size & 255)
      const sig = await kept.sign(msg)
      // Ed25519 signatures are deterministic: the same bytes as the library's own.
      expect(hex(sig)).toBe(hex(await key.sign(msg)))
      expect(await key.publicKey.verify(msg, sig)).toBe(true)
    }
    expect(kept.publicKey.equals(key.publicKey)).toBe(true)
    expect(kept.type).toBe('Ed25519')
    const aborted = AbortSignal.abort()
    expect(() => kept.sign(new Uint8Array(1), { signal: aborted })).toThrow()
  })
})
