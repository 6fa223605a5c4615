import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import createDebug from 'debug'
import type { Cache } from '../api/cache.js'
import { decodeValue, encodeValue, msgpack } from '../replication/value-codec.js'
import { entrySize } from '../store/entry.js'
import { writeFileAtomic } from './atomic-file.js'

const log = createDebug('meshcache:persist')

/** File name of the entries snapshot inside `dataDir`. */
export const SNAPSHOT_FILE = 'snapshot.msgpack'
const FORMAT = 1

type Row = [
  keyspace: string,
  key: string,
  wall: number,
  logical: number,
  node: string,
  expiresAt: number,
  tomb: 0 | 1,
  value: Uint8Array | null,
]

/**
 * Writes every live entry (values and tombstones, with versions and expiries) of every
 * open keyspace to `dataDir` crash-safely.
 * @returns entries written
 */
export function saveSnapshot(cache: Cache<unknown>, dataDir: string): number {
  const now = Date.now()
  const rows: Row[] = []
  for (const [name, ks] of cache.keyspaces()) {
    for (const [key, e] of ks.store.entries()) {
      if (e.expiresAt <= now) continue
      const v = e.version
      rows.push([
        name,
        key,
        v.wall,
        v.logical,
        v.node,
        e.expiresAt,
        e.tombstone ? 1 : 0,
        e.tombstone ? null : encodeValue(key, e.value),
      ])
    }
  }
  // The clock's high-water mark: after a restart this node's stamps stay above every
  // write it made before, even when its clock ran ahead of physical time.
  const clock = cache.clock.peek()
  writeFileAtomic(
    join(dataDir, SNAPSHOT_FILE),
    msgpack.pack([FORMAT, now, rows, clock.wall, clock.logical]),
  )
  return rows.length
}

/**
 * Loads a snapshot into `cache` through the last-writer-wins path, skipping what expired
 * meanwhile; opens keyspaces as needed. A missing or unreadable snapshot is skipped
 * (logged): it must never prevent a start.
 * @returns entries applied
 */
export function loadSnapshot(cache: Cache<unknown>, dataDir: string): number {
  const file = join(dataDir, SNAPSHOT_FILE)
  if (!existsSync(file)) return 0
  let rows: Row[]
  try {
    const raw = msgpack.unpack(readFileSync(file)) as [number, number, Row[], number?, number?]
    if (!Array.isArray(raw) || raw[0] !== FORMAT || !Array.isArray(raw[2]))
      throw new Error('unknown format')
    rows = raw[2]
    const [, , , wall, logical] = raw
    if (Number.isSafeInteger(wall) && Number.isSafeInteger(logical)) {
      try {
        cache.clock.update({ wall: wall!, logical: logical!, node: cache.nodeId })
      } catch (err) {
        log('snapshot clock is too far ahead, ignored: %s', (err as Error).message)
      }
    }
  } catch (err) {
    log('ignoring unreadable snapshot %s: %s', file, (err as Error).message)
    return 0
  }
  const now = Date.now()
  let applied = 0
  for (const row of rows) {
    try {
      const [name, key, wall, logical, node, expiresAt, tomb, value] = row
      if (expiresAt <= now) continue
      const ks = cache.keyspace(name)
      const version = { wall, logical, node }
      cache.clock.update(version)
      const entry =
        tomb === 1
          ? { value: undefined, version, expiresAt, tombstone: true, size: entrySize(key, 0) }
          : {
              value: decodeValue(value!),
              version,
              expiresAt,
              tombstone: false,
              size: entrySize(key, value!.length),
            }
      if (ks.applyRemote(key, entry, cache.region) === 'applied') applied++
    } catch (err) {
      log('skipping a bad snapshot row: %s', (err as Error).message)
    }
  }
  return applied
}
