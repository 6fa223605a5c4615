/**
 * Writes over RESP, on the cache facade: a value with an absolute expiry, a delete, a
 * new expiry for a held value. The facade takes a TTL relative to the node's clock, so
 * absolute expiries are turned into TTLs on that same clock (no drift on rewrites).
 * @module
 */
import type { Keyspace } from '../../api/keyspace.js'
import { ValueTooLargeError } from '../../errors.js'
import type { Target } from '../databases.js'
import { expireError } from '../resp-error.js'
import type { Session } from '../session.js'

/** TTL (ms) of a write expiring at `expiresAt` (ms, node clock). @throws RespError past `maxTtl` */
export function ttlUntil(
  space: Keyspace<unknown>,
  expiresAt: number,
  now: number,
  command: string,
): number {
  const ttl = Math.ceil(expiresAt - now)
  const max = space.options.maxTtl
  if (ttl > max) {
    throw expireError(command, `longer than the keyspace's maxTtl, ${Math.floor(max / 1000)} s`)
  }
  return ttl
}

/** Options of {@link writeValue}. */
export interface WriteOptions {
  /** Absolute expiry on the node clock, ms; undefined: the keyspace's `defaultTtl`. */
  expiresAt?: number | undefined
  /** Tags to keep (a rewrite of an existing entry keeps its tags). */
  tags?: readonly string[] | undefined
  /** The command, for error messages. */
  command: string
}

/**
 * Stores `value` under `target` (a delete when `expiresAt` is already past, as Redis
 * does with a past `EXAT`), recorded for `WAIT`.
 * @returns undefined when the write was applied within the call (every valid local
 *   write), else the facade's promise, which rejects with the reason
 * @throws RespError when the expiry is beyond `maxTtl`
 */
export function writeValue(
  s: Session,
  target: Target,
  value: unknown,
  options: WriteOptions,
): Promise<unknown> | undefined {
  const { space, key } = target
  let ttl: number | undefined
  if (options.expiresAt !== undefined) {
    ttl = ttlUntil(space, options.expiresAt, s.server.clock.now(), options.command)
    if (ttl <= 0) return deleteKeys(s, [target])
  }
  const w = s.noteWrite(target, false)
  const opts =
    ttl === undefined && options.tags === undefined
      ? undefined
      : {
          ...(ttl === undefined ? {} : { ttl }),
          ...(options.tags === undefined ? {} : { tags: options.tags }),
        }
  const pending = space.set(key, value, opts)
  // A local write is applied within the call: the entry holding this very value proves it
  // and carries its version, so the reply needs no promise turn (the hot path of SET).
  const entry = appliedEntry(space, key)
  if (entry !== undefined && entry.value === value) {
    w.version = entry.version
    return undefined
  }
  return pending.then((version) => {
    w.version = version
  })
}

/** A key and the bytes to store under it. */
export type Pair = readonly [target: Target, value: Uint8Array]

/**
 * Stores pairs all or none (`MSET`, `MSETNX`), recorded for `WAIT`: each keyspace's pairs
 * go through its `setMany`, which checks every write before applying any. A key named
 * twice takes its last value, as in Redis.
 * @returns settles once applied (within the call, for valid local writes); rejects with
 *   the reason, and then nothing was written
 * @throws MeshcacheError when pairs spanning keyspaces fail {@link checkAhead}
 */
export function writeMany(s: Session, pairs: readonly Pair[]): Promise<void> {
  const bySpace = new Map<Keyspace<unknown>, Map<string, Pair>>()
  for (const pair of pairs) {
    const { space, key } = pair[0]
    const byKey = bySpace.get(space)
    if (byKey === undefined) bySpace.set(space, new Map([[key, pair]]))
    else byKey.set(key, pair)
  }
  // One setMany per keyspace: a later one refusing would leave the earlier ones written.
  if (bySpace.size > 1) {
    for (const byKey of bySpace.values())
      for (const [t, value] of byKey.values()) checkAhead(t, value)
  }
  s.beginWrites()
  const pending: Promise<void>[] = []
  for (const [space, byKey] of bySpace) {
    const list = [...byKey.values()]
    const records = list.map(([t]) => s.noteWrite(t, false))
    const written = space.setMany(list.map(([t, value]) => [t.key, value] as const))
    pending.push(
      written.then((versions) => {
        for (let i = 0; i < records.length; i++) records[i]!.version = versions[i]
      }),
    )
  }
  return Promise.all(pending).then(() => undefined)
}

/**
 * Upper bounds of what the library adds to a byte value: msgpack's header of a byte
 * string (4 to 7 bytes measured), and an entry's bookkeeping (96 bytes, and 2 per key
 * character, counted apart).
 */
const ENCODING_MARGIN_BYTES = 16
const ENTRY_MARGIN_BYTES = 128

/**
 * Checks a pair of an `MSET` spanning keyspaces (prefix routing) before any keyspace
 * writes, against what its keyspace's `setMany` would refuse: the key through the
 * facade's own check, the sizes with the margins above (so a value within 16 bytes of
 * `maxValueBytes` is refused here, though a lone `SET` may store it). The clock's refusal
 * (ClockSkewError) is the node's, the same for every keyspace.
 * @throws InvalidKeyError, ValueTooLargeError
 */
function checkAhead(target: Target, value: Uint8Array): void {
  const { space, key } = target
  // `has` checks the key as a write does, and changes nothing.
  space.has(key)
  const { maxValueBytes, maxBytes } = space.options
  const encoded = value.length + ENCODING_MARGIN_BYTES
  if (encoded > maxValueBytes) {
    throw new ValueTooLargeError(
      `value of key '${key}' is ${value.length} bytes, over maxValueBytes (${maxValueBytes}) once encoded (an MSET across keyspaces checks every value before writing any, with a margin of ${ENCODING_MARGIN_BYTES} bytes)`,
    )
  }
  const entry = ENTRY_MARGIN_BYTES + 2 * key.length + encoded
  if (entry > maxBytes) {
    throw new ValueTooLargeError(
      `entry '${key}' needs up to ${entry} bytes, over the keyspace's maxBytes (${maxBytes})`,
    )
  }
}

/** The live entry of `key`, or undefined (also for a key the keyspace refuses). */
function appliedEntry(space: Keyspace<unknown>, key: string) {
  try {
    return space.entry(key)
  } catch {
    return undefined
  }
}

/**
 * Deletes keys (grouped by keyspace, one batch each), recorded for `WAIT`. A key named
 * twice (`DEL a a`) is deleted and counted once, as in Redis.
 * @returns how many were live here
 */
export async function deleteKeys(s: Session, targets: readonly Target[]): Promise<number> {
  const bySpace = new Map<Keyspace<unknown>, Map<string, Target>>()
  for (const t of targets) {
    const byKey = bySpace.get(t.space)
    if (byKey === undefined) bySpace.set(t.space, new Map([[t.key, t]]))
    else byKey.set(t.key, t)
  }
  // Every key checked before any keyspace deletes: a refused key (too long, reserved)
  // in the second keyspace must not leave the first one's deletes applied.
  if (bySpace.size > 1)
    for (const byKey of bySpace.values()) for (const t of byKey.values()) t.space.has(t.key)
  let n = 0
  for (const [space, byKey] of bySpace) {
    const keys = [...byKey.keys()]
    const list = [...byKey.values()]
    const pending = space.deleteMany(keys)
    // Applied within the call: the versions known now are the deletes' own.
    for (const t of list) {
      s.noteWrite(t, true).version = s.server.cache.admin.version(space.name, t.key)?.version
    }
    const had = await pending
    for (const h of had) if (h) n++
  }
  return n
}

/**
 * Gives a held value a new expiry (`EXPIRE`, `GETEX`, `PERSIST`): the value is written
 * again with the new TTL and its tags (a new version, replicated like any write).
 * @returns false when the key holds no live value
 */
export async function rewriteExpiry(
  s: Session,
  target: Target,
  expiresAt: number,
  command: string,
): Promise<boolean> {
  const entry = target.space.entry(target.key)
  if (entry === undefined) return false
  await writeValue(s, target, entry.value, { expiresAt, tags: entry.tags, command })
  return true
}
