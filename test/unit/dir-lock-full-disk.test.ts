import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { InvalidOptionError } from '../../src/errors.js'
import { LOCK_FILE, lockDataDir } from '../../src/persist/dir-lock.js'

// A full disk (creating a file works, writing to it fails with ENOSPC), and a filesystem
// without hard links (link() refused with EPERM), whichever fs call meets them.
const disk = vi.hoisted(() => ({ full: false, noLinks: false }))
/** Where the write fails: every write, or only those through writeSync. */
const where = vi.hoisted(() => ({ writeFileSync: true }))

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>()
  const full = () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
  const writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
    if (disk.full) throw full()
    return fs.writeSync(...args)
  }) as typeof fs.writeSync
  const writeFileSync = ((...args: Parameters<typeof fs.writeFileSync>) => {
    if (!disk.full || !where.writeFileSync) return fs.writeFileSync(...args)
    fs.writeFileSync(args[0], '', args[2]) // created, then the write fails
    throw full()
  }) as typeof fs.writeFileSync
  const linkSync = ((...args: Parameters<typeof fs.linkSync>) => {
    if (disk.noLinks)
      throw Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM' })
    return fs.linkSync(...args)
  }) as typeof fs.linkSync
  const mocked = { writeSync, writeFileSync, linkSync }
  return { ...fs, ...mocked, default: { ...fs, ...mocked } }
})

afterEach(() => {
  disk.full = false
  disk.noLinks = false
  where.writeFileSync = true
})

const dir = () => mkdtempSync(join(tmpdir(), 'meshcache-lock-full-'))

describe('the data dir lock on a full disk', () => {
  it('a lock that cannot be written: a typed error, and no empty LOCK left to lock the dir for good', () => {
    for (const noLinks of [false, true]) {
      const dataDir = dir()
      disk.noLinks = noLinks
      disk.full = true
      // Without hard links, the lock is created, then written (writeSync): that write fails.
      where.writeFileSync = !noLinks
      expect(() => lockDataDir(dataDir)).toThrow(InvalidOptionError)
      expect(() => lockDataDir(dataDir)).toThrow(/ENOSPC/)
      expect(readdirSync(dataDir)).toEqual([])
      disk.full = false // space freed: the next start locks the dir at once
      const release = lockDataDir(dataDir)
      expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n${hostname()}\n`)
      release()
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false)
    }
  })
})
