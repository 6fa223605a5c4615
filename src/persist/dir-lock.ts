import { randomBytes } from 'node:crypto'
import {
  linkSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { DataDirLockedError, InvalidOptionError } from '../errors.js'
import { logger } from '../log.js'
import { type FoundLock, LOCK_FILE, placeLock, readLock } from './lock-file.js'

export { LOCK_FILE } from './lock-file.js'

const log = logger('meshcache:persist')

/**
 * An empty or unparseable `LOCK` older than this (by its mtime) is stale. A lock is
 * written whole before it appears (a temp file linked into place), so only a writer
 * killed or out of space between create and write (an older version, or a filesystem
 * without hard links) leaves one; such a writer takes microseconds, so after a few
 * seconds none can still be at it. A younger one refuses the start (it may be a lock
 * being written right now).
 */
export const UNREADABLE_LOCK_STALE_MS = 5_000
/** The lock a process holds while it takes over a stale `LOCK` (for microseconds). */
const TAKEOVER_FILE = `${LOCK_FILE}.takeover`
/** How long a start waits for another process's takeover before it refuses. */
const TAKEOVER_WAIT_MS = 2_000
/** Temp and taken-over lock files older than this are left-overs of a crash: removed. */
const LEFTOVER_MS = 60_000
/** Tries before giving up (each lost race looks at the lock again). */
const ATTEMPTS = 8

/** Lock files this process holds: a lock with our pid that is not here was left by an earlier life. */
const held = new Set<string>()

/** True when process `pid` runs on this host (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Makes this process the only owner of `dataDir`: links a complete `LOCK` (this
 * process's pid and host, written to a temp file first: a lock is never seen empty) into
 * place, which fails when one exists. A lock left by a process that is gone (`kill -9`,
 * a crash) is taken over at once, so a restarted node starts without waiting; a lock
 * held by a live process, or by another host (a shared volume), refuses the start. An
 * empty or unparseable lock is stale once older than {@link UNREADABLE_LOCK_STALE_MS}.
 *
 * Takeovers are one at a time: a process takes over a stale `LOCK` only while it holds
 * `LOCK.takeover` (linked into place like `LOCK`), and removes it only if it is still
 * the lock it judged stale (same inode and content). Nothing else removes a stale lock,
 * so it cannot be replaced between that check and its removal; after it, whoever links
 * a lock first owns the dir, and the others find a live lock. (Removing it without that
 * let two processes both take it over: 13 of 300 races.)
 *
 * Decision (docs/decisions/persistence.md): an mtime-based lock-file library refuses a
 * restart until the old lock goes stale (seconds), and no OS lock (flock) is reachable
 * from Node without a native addon; a pid lock with a liveness check is exact on one
 * host and fails safe (refuses) when in doubt.
 * @returns a function that releases the lock
 * @throws DataDirLockedError naming the holder; InvalidOptionError when the directory
 *   cannot be written (a full disk) or `LOCK` is not a file
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, LOCK_FILE)
  // This process's own locks by the directory's real path: the same directory spelled
  // another way (relative, a symlink) is the same lock, never one "an earlier process
  // with our pid" left.
  const id = lockId(dataDir)
  const me = `${process.pid}\n${hostname()}\n`
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (placeLock(dataDir, file, me)) {
      held.add(id)
      removeLeftovers(dataDir)
      return () => {
        held.delete(id)
        try {
          if (readFileSync(file, 'utf8') === me) unlinkSync(file)
        } catch {
          // Already gone: nothing to release.
        }
      }
    }
    const found = readLock(file)
    if (found === undefined) continue // released meanwhile: try again
    const holder = judge(found, held.has(id))
    if (holder.state === 'writing') {
      throw new DataDirLockedError(
        `dataDir ${dataDir} has an empty or unreadable LOCK written ${Math.round(holder.age)} ms ago: a process may be locking it right now; it counts as stale after ${UNREADABLE_LOCK_STALE_MS / 1000} s`,
      )
    }
    if (holder.state === 'held') {
      throw new DataDirLockedError(
        `dataDir ${dataDir} is in use by process ${holder.pid} on ${holder.host}: two nodes on one directory would diverge; give each node its own dataDir`,
      )
    }
    whileTakingOver(dataDir, me, () => {
      const now = readLock(file)
      if (now !== undefined && now.ino === found.ino && now.text === found.text) unlinkSync(file)
    })
  }
  throw new DataDirLockedError(`dataDir ${dataDir}: could not take over a stale lock`)
}

/** What a lock file says of its holder. */
type Holder =
  | { state: 'stale' }
  | { state: 'held'; pid: string; host: string; age: number }
  | { state: 'writing'; age: number }

/**
 * Whether the holder of the lock `found` is gone (stale), there (a live process here, or
 * any process on another host), or may be writing it (empty or unparseable, and young).
 * @param heldHere - this process holds the lock of that directory
 */
function judge(found: FoundLock, heldHere: boolean): Holder {
  // File times are the host's: compared with the host's own clock, not the node's
  // (a mesh-corrected or test clock has nothing to do with what the filesystem wrote).
  const age = Math.abs(Date.now() - found.mtimeMs)
  const match = /^(\d+)\n([^\n]+)\n$/.exec(found.text)
  if (match === null)
    return age >= UNREADABLE_LOCK_STALE_MS ? { state: 'stale' } : { state: 'writing', age }
  const [, pidText = '', host = ''] = match
  const pid = Number(pidText)
  // Our own pid in a lock we do not hold: an earlier process with the same pid (a
  // container's pid 1 after a crash) left it.
  const ours = pid === process.pid && !heldHere
  const live = Number.isSafeInteger(pid) && pid > 0 && !ours && alive(pid)
  return host !== hostname() || live
    ? { state: 'held', pid: pidText, host, age }
    : { state: 'stale' }
}

/**
 * Runs `takeOver` holding `LOCK.takeover`: one takeover at a time. A takeover lock left
 * by a process that is gone (killed in those microseconds) is removed; one held by a
 * live process is waited for, up to {@link TAKEOVER_WAIT_MS}.
 * @throws DataDirLockedError when another process holds it that long
 */
function whileTakingOver(dataDir: string, me: string, takeOver: () => void): void {
  const file = join(dataDir, TAKEOVER_FILE)
  // A wait before the node (and its clock) exists: the host's clock.
  const deadline = Date.now() + TAKEOVER_WAIT_MS
  while (!placeLock(dataDir, file, me)) {
    const found = readLock(file)
    if (found === undefined) continue
    const holder = judge(found, false)
    // Another host's takeover lock: gone once old, as nothing takes over for seconds.
    const gone =
      holder.state === 'stale' ||
      (holder.state === 'held' &&
        holder.host !== hostname() &&
        holder.age >= UNREADABLE_LOCK_STALE_MS)
    if (gone) removeStale(dataDir, file, found)
    else if (Date.now() >= deadline) {
      throw new DataDirLockedError(
        `dataDir ${dataDir}: another process has been taking over its stale LOCK for ${TAKEOVER_WAIT_MS / 1000} s (${file}); try again`,
      )
    } else Atomics.wait(pause, 0, 0, 1)
  }
  try {
    takeOver()
  } finally {
    rmSync(file, { force: true })
  }
}

/** Something to wait on for a millisecond, synchronously. */
const pause = new Int32Array(new SharedArrayBuffer(4))

/**
 * Removes the stale takeover lock `found`: renamed to a name of our own (of two
 * processes renaming it, one wins, the other finds it gone), then checked to be that
 * file. When another process replaced it in between, what we renamed is that process's
 * live takeover lock: it is put back (a link, which fails if yet another appeared
 * meanwhile: that needs a crash during a takeover and three starts at one instant).
 */
function removeStale(dataDir: string, file: string, found: FoundLock): void {
  const grave = join(dataDir, `${LOCK_FILE}.stale-${process.pid}-${randomBytes(6).toString('hex')}`)
  try {
    renameSync(file, grave)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return // another process took it
    throw new InvalidOptionError(
      `dataDir ${dataDir}: cannot remove the stale ${file}: ${(err as Error).message}`,
      { cause: err },
    )
  }
  const moved = readLock(grave)
  if (moved !== undefined && (moved.ino !== found.ino || moved.text !== found.text)) {
    try {
      linkSync(grave, file)
    } catch (err) {
      log('could not put back %s: %s', file, (err as Error).message)
    }
  }
  rmSync(grave, { force: true })
}

/** Removes temp and taken-over lock files a crash left behind (older than a minute). */
function removeLeftovers(dataDir: string): void {
  try {
    for (const name of readdirSync(dataDir)) {
      if (!name.startsWith(`${LOCK_FILE}.tmp-`) && !name.startsWith(`${LOCK_FILE}.stale-`)) continue
      const path = join(dataDir, name)
      if (Date.now() - statSync(path).ctimeMs > LEFTOVER_MS) rmSync(path, { force: true })
    }
  } catch {
    // Left for the next start.
  }
}

/** The real path of `dataDir` (its absolute path when it cannot be resolved). */
function lockId(dataDir: string): string {
  try {
    return realpathSync(dataDir)
  } catch {
    return resolve(dataDir)
  }
}
