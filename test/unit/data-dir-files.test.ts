import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { INCARNATION_FILE, nextIncarnation } from '../../src/persist/incarnation.js'
import { LOCK_FILE } from '../../src/persist/lock-file.js'
import { SNAPSHOT_FILE } from '../../src/persist/snapshot.js'
import { PREVIOUS_LOG_FILE, WRITE_LOG_FILE } from '../../src/persist/write-log.js'

const dir = () => mkdtempSync(join(tmpdir(), 'meshcache-files-'))

describe('a data dir whose file is a directory', () => {
  for (const name of [WRITE_LOG_FILE, PREVIOUS_LOG_FILE, LOCK_FILE, SNAPSHOT_FILE]) {
    it(`${name}: the start fails with a typed error naming it (it was a bare EISDIR)`, async () => {
      const dataDir = dir()
      mkdirSync(join(dataDir, name))
      const start = createCache({ dataDir })
      await expect(start).rejects.toBeInstanceOf(InvalidOptionError)
      await expect(createCache({ dataDir })).rejects.toThrow(join(dataDir, name))
    })
  }

  it(`${INCARNATION_FILE}: a typed error naming it`, () => {
    const dataDir = dir()
    mkdirSync(join(dataDir, INCARNATION_FILE))
    expect(() => nextIncarnation(dataDir, Date.now())).toThrow(InvalidOptionError)
    expect(() => nextIncarnation(dataDir, Date.now())).toThrow(join(dataDir, INCARNATION_FILE))
  })
})
