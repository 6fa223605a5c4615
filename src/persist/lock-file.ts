import { randomBytes } from 'node:crypto'
import {
  closeSync,
  fstatSync,
  linkSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { InvalidOptionError } from '../errors.js'

/** File name of the lock inside `dataDir`. */
export const LOCK_FILE = 'LOCK'

/** Error codes of a link() refused by a filesystem without hard links. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

/** A lock file as read: its content, and which file it was (inode, mtime). */
export interface FoundLock {
  text: string
  ino: number
  mtimeMs: number
}

/**
 * Reads the lock file `file`.
 * @returns undefined when there is none
 * @throws InvalidOptionError naming it when it cannot be read or is not a file
 */
export function readLock(file: string): FoundLock | undefined {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw unusable(file, err)
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile())
      throw new InvalidOptionError(`${file} is not a file (a directory?): move it away`)
    return { text: readFileSync(fd, 'utf8'), ino: st.ino, mtimeMs: st.mtimeMs }
  } catch (err) {
    throw unusable(file, err)
  } finally {
    closeSync(fd)
  }
}

/**
 * Puts the lock `content` in place as `file` unless a lock is there: written whole to a
 * temp file, then linked into place (the link fails when `file` exists), so a lock is
 * never seen empty or half written. Where the filesystem has no hard links, `file` is
 * created exclusively and written; a failed write removes it.
 * @returns false when a lock is already there
 * @throws InvalidOptionError when the lock cannot be written (a full disk, no permission)
 */
export function placeLock(dataDir: string, file: string, content: string): boolean {
  const tmp = join(dataDir, `${LOCK_FILE}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  try {
    writeFileSync(tmp, content, { flag: 'wx', mode: 0o600 })
  } catch (err) {
    rmSync(tmp, { force: true })
    throw unwritable(dataDir, file, err)
  }
  try {
    linkSync(tmp, file)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (NO_LINKS.has(code ?? '')) return createLock(dataDir, file, content)
    throw unwritable(dataDir, file, err)
  } finally {
    rmSync(tmp, { force: true })
  }
}

/** Without hard links: `file` created exclusively, then written (removed when that fails). */
function createLock(dataDir: string, file: string, content: string): boolean {
  let fd: number
  try {
    fd = openSync(file, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw unwritable(dataDir, file, err)
  }
  try {
    const data = Buffer.from(content)
    let off = 0
    while (off < data.length) off += writeSync(fd, data, off, data.length - off)
  } catch (err) {
    closeSync(fd)
    rmSync(file, { force: true })
    throw unwritable(dataDir, file, err)
  }
  closeSync(fd)
  return true
}

function unwritable(dataDir: string, file: string, err: unknown): InvalidOptionError {
  const code = (err as NodeJS.ErrnoException).code
  return new InvalidOptionError(
    `dataDir ${dataDir}: cannot write its lock ${file} (${code ?? (err as Error).message})`,
    { cause: err },
  )
}

function unusable(file: string, err: unknown): InvalidOptionError {
  if (err instanceof InvalidOptionError) return err
  const code = (err as NodeJS.ErrnoException).code
  return new InvalidOptionError(`${file} cannot be read (${code}): check the dataDir`, {
    cause: err,
  })
}
