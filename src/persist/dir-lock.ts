import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { DataDirLockedError, InvalidOptionError } from '../errors.js'

/** File name of the lock inside `dataDir`. */
export const LOCK_FILE = 'LOCK'

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
 * Makes this process the only owner of `dataDir`: creates `LOCK` exclusively (O_EXCL)
 * with this process's pid and host. A lock left by a process that is gone (`kill -9`, a
 * crash) is taken over at once, so a restarted node starts without waiting; a lock held
 * by a live process, or by another host (a shared volume), refuses the start.
 *
 * Decision (docs/decisions/persistence.md): an mtime-based lock-file library refuses a
 * restart until the old lock goes stale (seconds), and no OS lock (flock) is reachable
 * from Node without a native addon; a pid lock with a liveness check is exact on one
 * host and fails safe (refuses) when in doubt.
 * @returns a function that releases the lock
 * @throws DataDirLockedError naming the holder; InvalidOptionError when the directory
 *   cannot be written
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, LOCK_FILE)
  // This process's own locks by the directory's real path: the same directory spelled
  // another way (relative, a symlink) is the same lock, never one "an earlier process
  // with our pid" left.
  const id = lockId(dataDir)
  const me = `${process.pid}\n${hostname()}\n`
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number
    try {
      fd = openSync(file, 'wx', 0o600)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EEXIST') {
        throw new InvalidOptionError(`dataDir ${dataDir} is not writable (${code})`, {
          cause: err,
        })
      }
      const [pidText, host] = readFileSync(file, 'utf8').split('\n')
      const pid = Number(pidText)
      // Our own pid in a lock we do not hold: an earlier process with the same pid (a
      // container's pid 1 after a crash) left it.
      const ours = pid === process.pid && !held.has(id)
      const live = Number.isSafeInteger(pid) && pid > 0 && !ours && alive(pid)
      if (host !== hostname() || live) {
        throw new DataDirLockedError(
          `dataDir ${dataDir} is in use by process ${pidText} on ${host}: two nodes on one directory would diverge; give each node its own dataDir`,
        )
      }
      // The holder is gone: take the lock over.
      unlinkSync(file)
      continue
    }
    try {
      writeSync(fd, me)
    } finally {
      closeSync(fd)
    }
    held.add(id)
    return () => {
      held.delete(id)
      try {
        if (readFileSync(file, 'utf8') === me) unlinkSync(file)
      } catch {
        // Already gone: nothing to release.
      }
    }
  }
  throw new DataDirLockedError(`dataDir ${dataDir}: could not take over a stale lock`)
}

/** The real path of `dataDir` (its absolute path when it cannot be resolved). */
function lockId(dataDir: string): string {
  try {
    return realpathSync(dataDir)
  } catch {
    return resolve(dataDir)
  }
}
