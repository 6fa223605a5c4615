/**
 * Writes over RESP, on the cache facade: a value with an absolute expiry, a delete, a
 * new expiry for a held value. The facade takes a TTL relative to the node's clock, so
 * absolute expiries are turned into TTLs on that same clock (no drift on rewrites).
 * @module
 */
import type { Keyspace } from '../../api/keyspace.js'
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

/** The live entry of `key`, or undefined (also for a key the keyspace refuses). */
function appliedEntry(space: Keyspace<unknown>, key: string) {
  try {
    return space.entry(key)
  } catch {
    return undefined
  }
}

/** Deletes keys (grouped by keyspace, one batch each), recorded for `WAIT`. @returns how many were live here */
export async function deleteKeys(s: Session, targets: readonly Target[]): Promise<number> {
  const bySpace = new Map<Keyspace<unknown>, Target[]>()
  for (const t of targets) {
    const list = bySpace.get(t.space)
    if (list === undefined) bySpace.set(t.space, [t])
    else list.push(t)
  }
  let n = 0
  for (const [space, list] of bySpace) {
    const keys = list.map((t) => t.key)
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
