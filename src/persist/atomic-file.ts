import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * Writes `data` to `file` crash-safely: write a temporary file, fsync it, rename it over
 * the target, fsync the directory. A crash at any point leaves the old file or the new
 * one, never a torn one.
 */
export function writeFileAtomic(file: string, data: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.tmp-${process.pid}`
  const fd = openSync(tmp, 'w', 0o600)
  try {
    try {
      let off = 0
      while (off < data.length) off += writeSync(fd, data, off, data.length - off)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
  } catch (err) {
    // A full disk (ENOSPC) or any failure: the old file stands, and no temp file is left.
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dirname(file))
}

/** Makes a rename in `dir` durable (fsync of the directory); a no-op where refused. */
export function fsyncDir(dir: string): void {
  try {
    const dfd = openSync(dir, 'r')
    fsyncSync(dfd)
    closeSync(dfd)
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
