import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'

/** Bytes of an Ed25519 signature: the head of every signed batch envelope. */
export const SIGNATURE_BYTES = 64

/** DER prefixes that turn a raw Ed25519 key into PKCS#8 / SPKI (RFC 8410). */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')

/** An Ed25519 libp2p private key as a Node `KeyObject` (its seed is the first 32 bytes). */
export function ed25519KeyObject(privateKey: PrivateKey): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, privateKey.raw.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  })
}

/** Most origin keys kept parsed; past it the oldest is dropped (re-parsed on its next batch). */
const MAX_CACHED_KEYS = 4_096

/**
 * Signs outgoing batches with this node's Ed25519 key, held as a `KeyObject` built once
 * (libp2p's own signer rebuilds it from raw bytes on every call). The envelope is
 * `signature (64 bytes) || body`, so the origin's signature travels end-to-end through any
 * relay and binds every record to the node its versions name.
 */
export class BatchSigner {
  private readonly key: KeyObject

  /** @throws Error when the key is not Ed25519 (meshcache identities always are) */
  constructor(privateKey: PrivateKey) {
    if (privateKey.type !== 'Ed25519') throw new Error(`batch signing needs an Ed25519 key`)
    this.key = ed25519KeyObject(privateKey)
  }

  /** `signature || body`. */
  seal(body: Uint8Array): Uint8Array {
    const out = new Uint8Array(SIGNATURE_BYTES + body.length)
    out.set(sign(null, body, this.key), 0)
    out.set(body, SIGNATURE_BYTES)
    return out
  }
}

/** The two parts of a signed envelope, or undefined when it is too short to be one. */
export function openEnvelope(
  data: Uint8Array,
): { signature: Uint8Array; body: Uint8Array } | undefined {
  if (data.length <= SIGNATURE_BYTES) return undefined
  return { signature: data.subarray(0, SIGNATURE_BYTES), body: data.subarray(SIGNATURE_BYTES) }
}

/**
 * Verifies an origin's signature over a batch body with the public key its peer id
 * embeds (Ed25519 peer ids carry the key itself): no key exchange, and the parsed
 * `KeyObject` is cached per origin, so a verify costs the curve arithmetic only.
 */
export class OriginKeys {
  private readonly keys = new Map<string, KeyObject | null>()

  /** True when `signature` is `origin`'s over `body`. Unknown key types never verify. */
  verify(origin: string, body: Uint8Array, signature: Uint8Array): boolean {
    const key = this.keyOf(origin)
    return key !== null && verify(null, body, key, signature)
  }

  private keyOf(origin: string): KeyObject | null {
    let key = this.keys.get(origin)
    if (key !== undefined) return key
    key = parseKey(origin)
    if (this.keys.size >= MAX_CACHED_KEYS) this.keys.delete(this.keys.keys().next().value!)
    this.keys.set(origin, key)
    return key
  }
}

function parseKey(origin: string): KeyObject | null {
  try {
    const publicKey = peerIdFromString(origin).publicKey
    if (publicKey?.type !== 'Ed25519') return null
    return createPublicKey({
      key: Buffer.concat([SPKI_ED25519, publicKey.raw]),
      format: 'der',
      type: 'spki',
    })
  } catch {
    return null
  }
}
