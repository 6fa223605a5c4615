import { statSync } from 'node:fs'
import { InvalidOptionError } from '../errors.js'

/**
 * Whether the file `path` of a data dir exists: true for a regular file, false when
 * there is none.
 * @throws InvalidOptionError naming the path when something else is there (a directory:
 *   reading it gave a bare EISDIR that named no file) or it cannot be looked at
 */
export function isDataFile(path: string): boolean {
  let kind: string
  try {
    const st = statSync(path)
    if (st.isFile()) return true
    kind = st.isDirectory() ? 'a directory' : 'not a regular file'
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return false
    throw new InvalidOptionError(`${path} cannot be read (${code}): check the dataDir`, {
      cause: err,
    })
  }
  throw new InvalidOptionError(`${path} is ${kind}; meshcache keeps a file there: move it away`)
}

/**
 * A failed read or write of the data dir's file `path` as a typed error naming it; an
 * error that is already typed is returned as is.
 */
export function dataFileError(path: string, err: unknown): Error {
  if (err instanceof InvalidOptionError) return err
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
  return new InvalidOptionError(`${path} cannot be used (${code}): check the dataDir`, {
    cause: err,
  })
}
