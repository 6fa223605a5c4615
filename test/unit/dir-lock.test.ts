import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DataDirLockedError } from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { LOCK_FILE, lockDataDir } from '../../src/persist/dir-lock.js'

const dir = () => mkdtempSync(join(tmpdir(), 'meshcache-lock-'))

describe('exclusive data dir', () => {
  it('a second cache on the same dataDir is refused with a typed error until the first closes', async () => {
    const dataDir = dir()
    const a = await createCache({ dataDir })
    await expect(createCache({ dataDir })).rejects.toBeInstanceOf(DataDirLockedError)
    await expect(createCache({ dataDir })).rejects.toThrow(/in use by process \d+/)
    await a.close()
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
    const b = await createCache({ dataDir })
    await b.close()
  })

  it('the same directory spelled another way (relative, through a symlink) is the same lock', async () => {
    const dataDir = dir()
    const link = `${dataDir}-link`
    symlinkSync(dataDir, link)
    const a = await createCache({ dataDir })
    try {
      // Our own pid in the lock used to read as an earlier process's: taken over, and two
      // caches wrote one directory.
      await expect(
        createCache({ dataDir: relative(process.cwd(), dataDir) }),
      ).rejects.toBeInstanceOf(DataDirLockedError)
      await expect(createCache({ dataDir: link })).rejects.toBeInstanceOf(DataDirLockedError)
    } finally {
      await a.close()
    }
  })

  it('a lock left by a process that is gone (kill -9) is taken over at once', () => {
    const dataDir = dir()
    // Pid 2^22 + 1 is above Linux's pid_max default: no such process.
    writeFileSync(join(dataDir, LOCK_FILE), `${2 ** 22 + 1}\n${hostname()}\n`)
    const release = lockDataDir(dataDir)
    release()
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
  })

  it('a lock held on another host (a shared volume) is refused', () => {
    const dataDir = dir()
    writeFileSync(join(dataDir, LOCK_FILE), `123\nsome-other-host\n`)
    expect(() => lockDataDir(dataDir)).toThrow(DataDirLockedError)
  })
})
