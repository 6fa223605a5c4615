/**
 * Checks of what a request names (its key, TTL, tags, value), run before anything is
 * read, leased or opened: a refused request leaves nothing behind, no load lease and no
 * keyspace (a refused write used to open its keyspace, and 64 of them locked every new
 * keyspace out with 429). Open keyspaces check against their own limits; a keyspace not
 * open yet against the limits it would be opened with.
 * @module
 */
import type { Keyspace } from '../api/keyspace.js'
import { checkWrittenKey } from '../api/write-checks.js'
import { ValueTooLargeError } from '../errors.js'
import type { ResolvedKeyspaceOptions } from '../replica/keyspace-options.js'
import { storableSize } from '../replication/value-check.js'
import { checkTags, encodeStored } from '../replication/value-codec.js'
import { entrySize } from '../store/entry.js'
import type { HttpContext } from './http-context.js'
import { type Ttl, ttlWithin } from './params.js'

/**
 * The limits of keyspace `ks`, or, when it is not open, those it would be opened with:
 * the node's keyspace defaults (not the default keyspace's, which `--keyspace default:...`
 * may set apart).
 */
export function limitsOf(
  ctx: HttpContext,
  ks: Keyspace<unknown> | undefined,
): Readonly<ResolvedKeyspaceOptions> {
  return ks?.options ?? ctx.cache.admin.keyspaceDefaults()
}

/**
 * Checks a key a request names, as a write would check it: 1 to `maxKeyLength`
 * characters, not starting with U+0000, well-formed Unicode. Reads are checked the same
 * way: no other key is ever written, and a key that was never checked must not reach the
 * lease table (an unopened keyspace used to grant leases on 15,000-character keys).
 * @throws InvalidKeyError (400 `ERR_INVALID_KEY`)
 */
export function checkRequestKey(
  ctx: HttpContext,
  ks: Keyspace<unknown> | undefined,
  key: string,
): void {
  checkWrittenKey(key, limitsOf(ctx, ks))
}

/** What one write to a keyspace not open yet would store. */
export interface NewWrite {
  key: string
  value: unknown
  ttl: Ttl | undefined
  tags: unknown
}

/**
 * Checks a write to a keyspace that is not open yet, as the library would once it is
 * open (key, TTL, tags, value: storable and within `maxValueBytes`), so that a refused
 * write does not open it. Runs only before a keyspace's first write: the value is
 * encoded once to know its size.
 * @throws InvalidKeyError, HttpError 400 `ERR_INVALID_OPTION` (TTL), InvalidOptionError
 *   (tags), UnencodableValueError, ValueTooLargeError
 */
export function checkNewWrite(limits: Readonly<ResolvedKeyspaceOptions>, write: NewWrite): void {
  const { key, value } = write
  checkWrittenKey(key, limits)
  ttlWithin(write.ttl, limits.maxTtl)
  const tags = write.tags === undefined ? undefined : checkTags(write.tags)
  storableSize(key, value)
  const length = encodeStored(key, value, tags).length
  if (length > limits.maxValueBytes) {
    throw new ValueTooLargeError(
      `value of key '${key}' is ${length} bytes encoded, over maxValueBytes (${limits.maxValueBytes}); store less or raise maxValueBytes`,
    )
  }
  if (entrySize(key, length) > limits.maxBytes) {
    throw new ValueTooLargeError(
      `entry '${key}' needs ${entrySize(key, length)} bytes, over the keyspace's maxBytes (${limits.maxBytes})`,
    )
  }
}
