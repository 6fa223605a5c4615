import { closeSync, fsync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { logger } from '../log.js'
import type { KeyspaceOptions } from '../replica/keyspace-options.js'
import type { KeyspaceReplica } from '../replica/keyspace-replica.js'
import type { ReplicaRegistry } from '../replica/replica-registry.js'
import { type EntryTuple, tupleOf } from '../replication/entry-tuple.js'
import { msgpack } from '../replication/value-codec.js'
import { fsyncDir } from './atomic-file.js'
import { isDataFile } from './data-file.js'
import { FILE_LIMITS, isFileRow } from './file-rows.js'
import { encodeFrame } from './frames.js'
import {
  readSnapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_MAGIC,
  type SnapshotContents,
} from './snapshot-read.js'

const log = logger('meshcache:persist')

/** File name of the entries snapshot inside `dataDir`. */
export const SNAPSHOT_FILE = 'snapshot.msgpack'
/** Rows per frame: the writer yields to the event loop between frames. */
const ROWS_PER_FRAME = 2_000
/** Unreadable snapshots kept aside (`snapshot.msgpack.corrupt-<ms>`), the newest. */
const KEPT_ASIDE = 2

/** A snapshot row: the keyspace, then the entry tuple. */
type Row = [keyspace: string, ...EntryTuple]

const nextTurn = () => new Promise<void>((r) => setImmediate(r))

/**
 * Writes every live entry (values and tombstones, with versions and expiries) and every
 * tag invalidation of every open keyspace to `dataDir`, crash-safely (temp file, fsync,
 * rename, fsync of the directory; the temp file is removed on failure), with the
 * clock's high-water mark. Incremental: it walks the keys in frames of 2,000 rows and
 * yields to the event loop between frames, so a snapshot of a million entries never
 * stalls the process (a one-shot snapshot of 1M entries blocked it for ~5.6 s). Entries
 * changed meanwhile are written as they are when their frame is built; writes that miss
 * the snapshot are in the write log (see WriteLog), which the caller rotates first.
 * @returns rows written
 */
export async function writeSnapshot(
  replicas: ReplicaRegistry,
  dataDir: string,
  clockCorrectionMs = 0,
): Promise<number> {
  removeStaleTemps(dataDir)
  const file = join(dataDir, SNAPSHOT_FILE)
  const tmp = `${file}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w', 0o600)
  let rows = 0
  try {
    try {
      const clock = replicas.hlc.peek()
      writeAll(fd, SNAPSHOT_MAGIC)
      // The clock's high-water mark: after a restart this node's stamps stay above every
      // write it made before (within the drift bound: see loadSnapshot).
      writeFrame(fd, [
        msgpack.pack([
          SNAPSHOT_FORMAT,
          replicas.now(),
          clock.wall,
          clock.logical,
          clockCorrectionMs,
          savedOptions(replicas),
        ]),
      ])
      for (const replica of [...replicas]) {
        // Invalidations outlive their tombstones in the LRU: saved on their own, first (as
        // tombstones they take LRU room when loaded: loaded after the values, 1,100 of them
        // evicted every value of a 100-entry keyspace at each restart).
        const retain = replica.options.maxTtl
        const invalidations: Uint8Array[] = []
        for (const [key, v] of replica.invalidations.entries()) {
          const row: Row = [replica.name, key, v.wall, v.logical, v.node, v.wall + retain, 1, null]
          invalidations.push(msgpack.pack(row))
        }
        if (invalidations.length > 0) writeFrame(fd, invalidations)
        rows += invalidations.length
        // Every version the replica knows, not only the entries in memory: a tombstone or
        // a value the LRU evicted is still a version that a peer's older copy must not
        // beat after a restart (a delete forgotten here came back everywhere).
        // Rows load in file order, each as the most recently used: versions only the index
        // holds first, then the values in memory from least to most recently used, so a
        // restart keeps them all (under maxEntries) in the same recency order.
        const live = [...replica.store.keys()].reverse()
        const held = new Set(live)
        const keys: string[] = []
        for (const [key] of replica.index.iterate()) if (!held.has(key)) keys.push(key)
        for (const key of live) keys.push(key)
        for (let i = 0; i < keys.length; i += ROWS_PER_FRAME) {
          const now = replicas.now()
          const frame: Uint8Array[] = []
          for (const key of keys.slice(i, i + ROWS_PER_FRAME)) {
            const tuple = rowOf(replica, key, now)
            if (tuple !== undefined) frame.push(msgpack.pack([replica.name, ...tuple]))
          }
          if (frame.length > 0) writeFrame(fd, frame)
          rows += frame.length
          await nextTurn()
        }
      }
      // The flush to disk of a large file takes a while: off the event loop.
      await new Promise<void>((resolve, reject) =>
        fsync(fd, (err) => (err ? reject(err) : resolve())),
      )
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
  } catch (err) {
    // A full disk (ENOSPC) or any failure: the old snapshot stands, no temp file is left.
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dirname(file))
  return rows
}

/** One frame: length and CRC-32 of the body, then the body (packed rows, back to back). */
function writeFrame(fd: number, parts: readonly Uint8Array[]): void {
  writeAll(fd, encodeFrame(Buffer.concat(parts)))
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0
  while (off < data.length) off += writeSync(fd, data, off, data.length - off)
}

/**
 * Loads a snapshot (any format) through each replica's `admitRemote`, with the checks a
 * remote entry gets (a damaged file can hold anything): expired entries, bad rows and
 * damaged frames are skipped, rows before a tear kept; keyspaces are opened as needed.
 * The saved clock is resumed only when it lies within the drift bound of this host's
 * clock: a file from the far future must not make every later write win forever. A
 * missing or unreadable file is skipped (logged): it must never prevent a start; an
 * unreadable one is kept aside (`snapshot.msgpack.corrupt-<ms>`, the newest two), not
 * overwritten by the next snapshot, for whoever wants to look at it.
 * @throws InvalidOptionError naming the file when it is not a regular file (a directory)
 * @param region - region named in `change` events of loaded entries (this node's)
 * @returns entries applied, the saved clock correction, and what was refused
 */
export function loadSnapshot(
  replicas: ReplicaRegistry,
  dataDir: string,
  region: string,
): SnapshotLoad {
  const file = join(dataDir, SNAPSHOT_FILE)
  const none: SnapshotLoad = { applied: 0, clockCorrectionMs: 0, damagedFrames: 0 }
  if (!isDataFile(file)) return none
  let snapshot: SnapshotContents
  try {
    snapshot = readSnapshot(file)
  } catch (err) {
    log('ignoring unreadable snapshot %s: %s', file, (err as Error).message)
    keepAside(file)
    return { ...none, damagedFrames: 1 }
  }
  const { wall, logical, correction } = snapshot
  const result: SnapshotLoad = { ...none, damagedFrames: snapshot.damaged }
  restoreOptions(replicas, snapshot.keyspaces)
  if (Number.isSafeInteger(wall) && Number.isSafeInteger(logical) && (logical as number) >= 0) {
    const saved = { wall: wall as number, logical: logical as number, node: replicas.hlc.node }
    if (replicas.hlc.accepts(saved)) replicas.hlc.update(saved)
    else {
      result.refusedClockAheadMs = (wall as number) - replicas.now()
      log(
        'snapshot %s: its clock is %d ms ahead of this host (more than maxClockDrift): not resumed',
        file,
        result.refusedClockAheadMs,
      )
    }
  }
  const now = replicas.now()
  let bad = 0
  for (const row of snapshot.rows) {
    if (!isFileRow(row, FILE_LIMITS)) {
      bad++
      continue
    }
    const tuple = row.slice(1) as EntryTuple
    if (tuple[4] <= now) continue
    try {
      if (replicas.open(row[0]).admitRemote(tuple, region, true) === 'applied') result.applied++
    } catch (err) {
      bad++
      log('skipping a snapshot row: %s', (err as Error).message)
    }
  }
  if (bad > 0 || snapshot.damaged > 0)
    log('snapshot %s: %d bad rows, %d damaged frames skipped', file, bad, snapshot.damaged)
  if (Number.isFinite(correction)) result.clockCorrectionMs = correction as number
  return result
}

/**
 * The row of `key` in a snapshot, or undefined when there is nothing to keep: its newest
 * version as anti-entropy exports it (the value when held at that version, a tombstone,
 * or the version alone), while retained and not expired; an entry the index does not
 * know (it forgot versions past its bound) as held.
 */
function rowOf(
  replica: KeyspaceReplica<unknown>,
  key: string,
  now: number,
): EntryTuple | undefined {
  const indexed = replica.index.get(key)
  if (indexed !== undefined) {
    if (!replica.index.retained(indexed, now)) return undefined
    const tuple = replica.exportEntry(key, indexed, now)
    return tuple[4] > now ? tuple : undefined
  }
  const e = replica.store.peek(key)
  return e !== undefined && e.expiresAt > now ? tupleOf(key, e) : undefined
}

/** What {@link loadSnapshot} found. */
export interface SnapshotLoad {
  /** Entries applied. */
  applied: number
  /** The clock correction saved with the snapshot (the caller bounds it). */
  clockCorrectionMs: number
  /** Frames torn or failing their checksum. */
  damagedFrames: number
  /** Set when the saved clock was beyond the drift bound: by how much, ms. */
  refusedClockAheadMs?: number
}

/**
 * Moves an unreadable snapshot out of the way of the next one, as
 * `snapshot.msgpack.corrupt-<ms>`; only the newest {@link KEPT_ASIDE} are kept (a
 * snapshot can be large).
 */
function keepAside(file: string): void {
  const prefix = `${SNAPSHOT_FILE}.corrupt-`
  const dir = dirname(file)
  try {
    // The host's time in the name, for whoever looks at the directory.
    const aside = `${prefix}${Date.now()}`
    renameSync(file, join(dir, aside))
    log('unreadable snapshot %s kept aside as %s', file, aside)
    const kept = readdirSync(dir)
      .filter((name) => name.startsWith(prefix))
      .sort((a, b) => Number(b.slice(prefix.length)) - Number(a.slice(prefix.length)))
    for (const name of kept.slice(KEPT_ASIDE)) rmSync(join(dir, name), { force: true })
  } catch (err) {
    log('cannot keep the unreadable snapshot %s aside: %s', file, (err as Error).message)
  }
}

/** Removes temp files of snapshots that never finished (a crash, another pid). */
function removeStaleTemps(dataDir: string): void {
  try {
    for (const name of readdirSync(dataDir)) {
      if (name.startsWith(`${SNAPSHOT_FILE}.tmp-`)) rmSync(join(dataDir, name), { force: true })
    }
  } catch (err) {
    log('cannot clean old snapshot temp files: %s', (err as Error).message)
  }
}

/**
 * Each keyspace's options, saved with its rows: a keyspace restored before the
 * application opens it again gets them, not the cache-wide defaults (eviction at the
 * default `maxEntries`, restored expiries not capped by a smaller `maxTtl`). Limits that
 * are not finite are left out (their default is no limit).
 */
function savedOptions(replicas: ReplicaRegistry): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {}
  for (const replica of replicas) {
    const options: Record<string, number> = {}
    for (const [name, value] of Object.entries(replica.options))
      if (Number.isFinite(value)) options[name] = value
    out[replica.name] = options
  }
  return out
}

/** Opens the keyspaces a snapshot names with their saved options (a bad entry is skipped). */
function restoreOptions(replicas: ReplicaRegistry, saved: unknown): void {
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return
  for (const [name, options] of Object.entries(saved)) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) continue
    try {
      replicas.restore(name, options as KeyspaceOptions)
    } catch (err) {
      log('snapshot: keyspace %s keeps the default options: %s', name, (err as Error).message)
    }
  }
}
