import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DataDirLockedError, InvalidOptionError } from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { LOCK_FILE, lockDataDir, UNREADABLE_LOCK_STALE_MS } from '../../src/persist/dir-lock.js'

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

  it('an empty or unparseable lock (its writer died or ran out of space before writing it) is stale after a few seconds', () => {
    for (const content of ['', '123', 'garbage\n\n\n']) {
      const dataDir = dir()
      const file = join(dataDir, LOCK_FILE)
      writeFileSync(file, content)
      // Just written: a process may be writing it right now.
      expect(() => lockDataDir(dataDir)).toThrow(DataDirLockedError)
      expect(() => lockDataDir(dataDir)).toThrow(/empty or unreadable LOCK/)
      const past = (Date.now() - UNREADABLE_LOCK_STALE_MS - 1_000) / 1000
      utimesSync(file, past, past)
      const release = lockDataDir(dataDir)
      expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n${hostname()}\n`)
      release()
      expect(existsSync(file)).toBe(false)
    }
  })

  it('a takeover leaves nothing behind: no temp or stale lock files', () => {
    const dataDir = dir()
    writeFileSync(join(dataDir, LOCK_FILE), `${2 ** 22 + 1}\n${hostname()}\n`)
    const release = lockDataDir(dataDir)
    expect(readdirSync(dataDir)).toEqual([LOCK_FILE])
    release()
    expect(readdirSync(dataDir)).toEqual([])
  })

  it('takeovers are one at a time: a takeover lock left by a dead process is removed, a live one waited for', () => {
    const dataDir = dir()
    const stale = `${2 ** 22 + 1}\n${hostname()}\n`
    writeFileSync(join(dataDir, LOCK_FILE), stale)
    // A process killed while it took the lock over.
    writeFileSync(join(dataDir, `${LOCK_FILE}.takeover`), stale)
    const release = lockDataDir(dataDir)
    expect(readdirSync(dataDir)).toEqual([LOCK_FILE])
    release()
    // A live process (our parent) is taking it over: we wait, then refuse.
    writeFileSync(join(dataDir, LOCK_FILE), stale)
    writeFileSync(join(dataDir, `${LOCK_FILE}.takeover`), `${process.ppid}\n${hostname()}\n`)
    const started = Date.now()
    expect(() => lockDataDir(dataDir)).toThrow(/taking over its stale LOCK/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900)
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).toBe(stale)
  })

  it('a LOCK that is a directory: a typed error naming it, not a bare EISDIR', () => {
    const dataDir = dir()
    mkdirSync(join(dataDir, LOCK_FILE))
    expect(() => lockDataDir(dataDir)).toThrow(InvalidOptionError)
    expect(() => lockDataDir(dataDir)).toThrow(join(dataDir, LOCK_FILE))
  })
})
