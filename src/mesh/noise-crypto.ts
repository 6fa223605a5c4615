import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  sign,
} from 'node:crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { PrivateKey } from '@libp2p/interface'
import { ed25519KeyObject } from './batch-signing.js'

// DER headers of a raw X25519 key (RFC 8410), as @chainsafe/libp2p-noise writes them.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')
const NO_INFO = new Uint8Array(0)
/** At and above this many bytes Node's cipher beats the wasm one (the library's own threshold). */
const NODE_CIPHER_BYTES = 1200

/** A list of chunks (uint8arraylist's `Uint8ArrayList`) as far as this file reads one. */
interface Uint8ArrayListLike {
  subarray(): Uint8Array
}

/** A key's bytes as noise passes them: one array, or a list of chunks. */
type KeyBytes = Parameters<ICryptoInterface['generateX25519SharedKey']>[0]

/** A key object made from a key's bytes, with a copy of the bytes it was made from. */
interface Parsed {
  bytes: Buffer
  key: KeyObject
}

/**
 * Key objects by the array noise holds the key in. Noise keeps its keys (its static and
 * ephemeral key pairs, a remote key read from a handshake message, a session's cipher
 * key) in one array for their lifetime and passes that same array to every call, so the
 * second and later uses of a key skip parsing it. An entry lives as long as its array;
 * a hit is checked against the bytes it was made from, so an array written again since
 * is parsed again, never used with a stale key.
 */
class KeyObjects {
  private readonly byArray = new WeakMap<KeyBytes, Parsed>()

  constructor(private readonly parse: (bytes: Buffer) => KeyObject) {}

  of(array: KeyBytes): KeyObject {
    const known = this.byArray.get(array)
    const now = array instanceof Uint8Array ? array : array.subarray()
    if (known?.bytes.equals(now)) return known.key
    const bytes = Buffer.from(now)
    const key = this.parse(bytes)
    this.byArray.set(array, { bytes, key })
    return key
  }

  /** Records a key object made elsewhere (a key pair just generated). */
  remember(array: Uint8Array, key: KeyObject): void {
    this.byArray.set(array, { bytes: Buffer.from(array), key })
  }
}

const privateKeys = new KeyObjects((raw) =>
  createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' }),
)
const publicKeys = new KeyObjects((raw) =>
  createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }),
)
const cipherKeys = new KeyObjects((raw) => createSecretKey(raw))

/** A new X25519 key pair as raw bytes, its private key object remembered. */
function generateX25519KeyPair(): { publicKey: Uint8Array; privateKey: Uint8Array } {
  const pair = generateKeyPairSync('x25519')
  const jwk = pair.privateKey.export({ format: 'jwk' })
  const privateKey = Buffer.from(jwk.d as string, 'base64url')
  const publicKey = Buffer.from(jwk.x as string, 'base64url')
  privateKeys.remember(privateKey, pair.privateKey)
  publicKeys.remember(publicKey, pair.publicKey)
  return { publicKey, privateKey }
}

function generateX25519SharedKey(privateKey: KeyBytes, publicKey: KeyBytes): Uint8Array {
  return diffieHellman({
    privateKey: privateKeys.of(privateKey),
    publicKey: publicKeys.of(publicKey),
  })
}

/** HKDF-SHA256 with the chaining key as salt and no info, 96 bytes: Noise's HKDF with three outputs. */
function getHKDF(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const okm = new Uint8Array(hkdfSync('sha256', ikm, ck, NO_INFO, 96))
  return [okm.subarray(0, 32), okm.subarray(32, 64), okm.subarray(64, 96)]
}

type Encrypt = ICryptoInterface['chaCha20Poly1305Encrypt']
type Decrypt = ICryptoInterface['chaCha20Poly1305Decrypt']

const encrypt: Encrypt = (plaintext, nonce, ad, k) => {
  if (plaintext.byteLength < NODE_CIPHER_BYTES || !(plaintext instanceof Uint8Array))
    return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
  const cipher = createCipheriv('chacha20-poly1305', cipherKeys.of(k), nonce, { authTagLength: 16 })
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
  const body = cipher.update(plaintext)
  cipher.final()
  const tag = cipher.getAuthTag()
  return Buffer.concat([body, tag], body.byteLength + tag.byteLength)
}

const decrypt: Decrypt = (ciphertext, nonce, ad, k, dst) => {
  if (ciphertext.byteLength < NODE_CIPHER_BYTES || !(ciphertext instanceof Uint8Array))
    return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
  const text = ciphertext.subarray(0, ciphertext.byteLength - 16)
  const decipher = createDecipheriv('chacha20-poly1305', cipherKeys.of(k), nonce, {
    authTagLength: 16,
  })
  decipher.setAAD(ad, { plaintextLength: text.byteLength })
  decipher.setAuthTag(ciphertext.subarray(ciphertext.byteLength - 16))
  const body = decipher.update(text)
  decipher.final()
  return body
}

/**
 * Noise's crypto with key objects kept per key (decision: docs/decisions/noise-crypto.md).
 * @chainsafe/libp2p-noise's default parses DER key material into a new key object on
 * every X25519 agreement (three per end of a handshake, the node's own static key among
 * them) and every ChaCha20-Poly1305 message of 1,200 bytes or more, exports a new key
 * pair through DER, and runs HKDF in JavaScript. Same algorithms, same bytes on the wire:
 * a node with this crypto and one with the library's default talk to each other.
 */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  getHKDF,
  generateX25519KeyPair,
  generateX25519SharedKey,
  chaCha20Poly1305Encrypt: encrypt,
  chaCha20Poly1305Decrypt: decrypt,
}

/** Options of a private key's `sign` (an abort signal). */
type SignOptions = Parameters<PrivateKey['sign']>[1]

/**
 * The node's key for libp2p, signing with one key object: @libp2p/crypto parses the
 * Ed25519 key from JWK on every signature, and every Noise handshake signs the node's
 * identity payload once at each end. Any other key type is returned as it is.
 */
export function keptSigningKey(privateKey: PrivateKey): PrivateKey {
  if (privateKey.type !== 'Ed25519') return privateKey
  const key = ed25519KeyObject(privateKey)
  return Object.create(privateKey, {
    sign: {
      value(message: Uint8Array | Uint8ArrayListLike, options?: SignOptions): Uint8Array {
        options?.signal?.throwIfAborted()
        return sign(null, message instanceof Uint8Array ? message : message.subarray(), key)
      },
    },
  }) as PrivateKey
}
