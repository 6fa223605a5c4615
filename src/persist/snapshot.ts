import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import createDebug from 'debug'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import { type EntryTuple, isEntryTuple, tupleOf } from '../replication/entry-tuple.js'
import { WIRE_LIMITS } from '../replication/limits.js'
import { msgpack } from '../replication/value-codec.js'
import { writeFileAtomic } from './atomic-file.js'

const log = createDebug('meshcache:persist')

/** File name of the entries snapshot inside `dataDir`. */
export const SNAPSHOT_FILE = 'snapshot.msgpack'
const FORMAT = 1

/** A snapshot row: the keyspace, then the entry tuple. */
type Row = [keyspace: string, ...EntryTuple]

/** Snapshot rows are checked like wire input (a file can be torn, edited or foreign). */
const LIMITS = { ...WIRE_LIMITS, maxKeyLength: Number.MAX_SAFE_INTEGER }

/**
 * Writes every live entry (values and tombstones, with versions and expiries) of every
 * open keyspace to `dataDir` crash-safely, with the clock's high-water mark.
 * @returns entries written
 */
export function saveSnapshot(replicas: ReplicaRegistry, dataDir: string): number {
  const now = replicas.now()
  const rows: Row[] = []
  for (const replica of replicas) {
    for (const [key, e] of replica.store.entries()) {
      if (e.expiresAt > now) rows.push([replica.name, ...tupleOf(key, e)])
    }
    // Invalidations outlive their tombstones in the LRU: save them on their own too.
    const retain = replica.options.maxTtl
    for (const [key, v] of replica.invalidations.entries()) {
      rows.push([replica.name, key, v.wall, v.logical, v.node, v.wall + retain, 1, null])
    }
  }
  // The clock's high-water mark: after a restart this node's stamps stay above every
  // write it made before, even when its clock ran ahead of physical time.
  const clock = replicas.clock.peek()
  writeFileAtomic(
    join(dataDir, SNAPSHOT_FILE),
    msgpack.pack([FORMAT, now, rows, clock.wall, clock.logical]),
  )
  return rows.length
}

/**
 * Loads a snapshot through each replica's `admitRemote` (last-writer-wins), skipping
 * what expired meanwhile and any bad row; opens keyspaces as needed. A missing or
 * unreadable file is skipped (logged): it must never prevent a start.
 * @param region - region named in `change` events of loaded entries (this node's)
 * @returns entries applied
 */
export function loadSnapshot(replicas: ReplicaRegistry, dataDir: string, region: string): number {
  const file = join(dataDir, SNAPSHOT_FILE)
  if (!existsSync(file)) return 0
  let rows: unknown[]
  try {
    const raw = msgpack.unpack(readFileSync(file)) as unknown[]
    if (!Array.isArray(raw) || raw[0] !== FORMAT || !Array.isArray(raw[2]))
      throw new Error('unknown format')
    rows = raw[2]
    const [, , , wall, logical] = raw
    if (Number.isSafeInteger(wall) && Number.isSafeInteger(logical)) {
      try {
        replicas.clock.update({
          wall: wall as number,
          logical: logical as number,
          node: replicas.clock.node,
        })
      } catch (err) {
        log('snapshot clock is too far ahead, ignored: %s', (err as Error).message)
      }
    }
  } catch (err) {
    log('ignoring unreadable snapshot %s: %s', file, (err as Error).message)
    return 0
  }
  const now = replicas.now()
  let applied = 0
  let bad = 0
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 8 || typeof row[0] !== 'string') {
      bad++
      continue
    }
    const tuple = row.slice(1)
    if (!isEntryTuple(tuple, LIMITS)) {
      bad++
      continue
    }
    if (tuple[4] <= now) continue
    try {
      if (replicas.open(row[0]).admitRemote(tuple, region) === 'applied') applied++
    } catch (err) {
      bad++
      log('skipping a snapshot row: %s', (err as Error).message)
    }
  }
  if (bad > 0) log('skipped %d bad snapshot rows in %s', bad, file)
  return applied
}
