import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidOptionError } from '../errors.js'
import { writeFileAtomic } from './atomic-file.js'

/** File name of the node's private key inside `dataDir`. */
export const IDENTITY_FILE = 'peer-key'

/**
 * The node's libp2p private key: loaded from `dataDir`, or generated (Ed25519) and saved
 * there, so the peer id survives restarts.
 * @throws InvalidOptionError when the key file exists but cannot be read
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, IDENTITY_FILE)
  if (existsSync(file)) {
    try {
      return privateKeyFromProtobuf(readFileSync(file))
    } catch (cause) {
      throw new InvalidOptionError(
        `${file} is not a libp2p private key; move it away to get a new identity`,
        { cause },
      )
    }
  }
  const key = await generateKeyPair('Ed25519')
  writeFileAtomic(file, privateKeyToProtobuf(key))
  return key
}
