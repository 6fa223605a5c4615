/**
 * Credentials of the sidecar's edges: HTTP bearer tokens and the RESP password, read from
 * files (never from flags: a flag shows in `ps` and shell history) and checked in
 * constant time.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { InvalidOptionError } from '../errors.js'

/**
 * The secrets of a credential file: one per line, surrounding blanks trimmed; empty lines
 * and lines starting with `#` are skipped, so several tokens can be listed and rotated
 * (add the new one, move clients, remove the old one).
 * @param what - what the file holds, for the error message (e.g. `--http-token-file`)
 * @throws InvalidOptionError when the file cannot be read or holds no secret
 */
export function readCredentialFile(path: string, what: string): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    // No cause: a missing file named on the command line is bad usage (exit 2).
    throw new InvalidOptionError(`cannot read ${what} ${path}: ${(cause as Error).message}`)
  }
  const secrets = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
  if (secrets.length === 0) {
    throw new InvalidOptionError(`${what} ${path} holds no secret (one per line)`)
  }
  return secrets
}

/** SHA-256 of a secret: equal-length digests are what `timingSafeEqual` compares. */
function digest(secret: string | Uint8Array): Buffer {
  return createHash('sha256').update(secret).digest()
}

/**
 * A set of accepted secrets. {@link matches} compares a candidate with every secret in
 * constant time: the candidate and the secrets are hashed first (so their lengths leak
 * nothing), every secret is compared (no early exit), and only the digests are kept.
 */
export class CredentialSet {
  readonly #digests: readonly Buffer[]

  /** @throws InvalidOptionError when `secrets` is empty */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new InvalidOptionError('a credential set needs a secret')
    this.#digests = secrets.map((s) => digest(s))
  }

  /** How many secrets are accepted. */
  get size(): number {
    return this.#digests.length
  }

  /** True when `candidate` (text, or its UTF-8 bytes) is one of the secrets. */
  matches(candidate: string | Uint8Array): boolean {
    const d = digest(candidate)
    let found = false
    for (const known of this.#digests) found = timingSafeEqual(d, known) || found
    return found
  }
}
