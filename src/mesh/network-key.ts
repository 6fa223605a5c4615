import { randomBytes } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'

const HEADER = '/key/swarm/psk/1.0.0/'

/**
 * A new random network key, as libp2p pnet swarm key text (what `meshcache keygen`
 * prints): 32 random bytes in hex, the format of `@libp2p/pnet`'s `generateKey`, made
 * here so that importing meshcache loads no libp2p.
 */
export function createNetworkKey(): string {
  return `${HEADER}\n/base16/\n${randomBytes(32).toString('hex')}\n`
}

/**
 * Checks and normalizes a network key given as swarm key text.
 * @throws InvalidOptionError when it is not a pnet v1 key with 64 hex digits
 */
export function parseNetworkKey(key: string | Uint8Array): Uint8Array {
  if (typeof key !== 'string' && !(key instanceof Uint8Array))
    throw new InvalidOptionError(
      `networkKey must be swarm key text or its bytes, got ${key === null ? 'null' : typeof key}; create one with \`meshcache keygen\``,
    )
  const text = (typeof key === 'string' ? key : new TextDecoder().decode(key)).trim()
  const lines = text.split(/\r?\n/)
  if (
    lines.length !== 3 ||
    lines[0] !== HEADER ||
    lines[1] !== '/base16/' ||
    !/^[0-9a-fA-F]{64}$/.test(lines[2]!)
  ) {
    throw new InvalidOptionError(
      `networkKey must be a libp2p pnet swarm key (3 lines: ${HEADER}, /base16/, 64 hex digits); create one with \`meshcache keygen\``,
    )
  }
  return new TextEncoder().encode(`${lines.join('\n')}\n`)
}
