import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BatchSigner,
  OriginKeys,
  openEnvelope,
  SIGNATURE_BYTES,
} from '../../src/mesh/batch-signing.js'

const identity = async () => {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

describe('batch signatures', () => {
  it("verify under the origin's peer id, and only there (property)", async () => {
    const a = await identity()
    const b = await identity()
    const signer = new BatchSigner(a.key)
    const keys = new OriginKeys()
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2_000 }), (body) => {
        const sealed = signer.seal(body)
        const env = openEnvelope(sealed)!
        expect([...env.body]).toEqual([...body])
        expect(keys.verify(a.id, env.body, env.signature)).toBe(true)
        // Another origin's name on the same bytes: a forged origin.
        expect(keys.verify(b.id, env.body, env.signature)).toBe(false)
      }),
      { numRuns: 200 },
    )
  })

  it('a changed byte anywhere breaks the signature', async () => {
    const a = await identity()
    const signer = new BatchSigner(a.key)
    const keys = new OriginKeys()
    const sealed = signer.seal(new Uint8Array(100).fill(7))
    for (const i of [0, 63, 64, 99, 163]) {
      const copy = sealed.slice()
      copy[i]! ^= 1
      const env = openEnvelope(copy)!
      expect(keys.verify(a.id, env.body, env.signature)).toBe(false)
    }
  })

  it('origins that are not Ed25519 peer ids never verify, and are not retried at full cost', async () => {
    const a = await identity()
    const env = openEnvelope(new BatchSigner(a.key).seal(new Uint8Array([1, 2, 3])))!
    const keys = new OriginKeys()
    const rsa = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
    for (const origin of ['', 'not a peer id', rsa, a.id.slice(0, -2)]) {
      expect(keys.verify(origin, env.body, env.signature)).toBe(false)
    }
  })

  it('an envelope needs a signature and a body', () => {
    expect(openEnvelope(new Uint8Array(SIGNATURE_BYTES))).toBeUndefined()
    expect(openEnvelope(new Uint8Array(SIGNATURE_BYTES + 1))?.body.length).toBe(1)
  })

  it('only Ed25519 identities can sign', async () => {
    const k = await generateKeyPair('secp256k1')
    expect(() => new BatchSigner(k)).toThrow(/Ed25519/)
  })
})
