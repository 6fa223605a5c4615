import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/node/create-cache.js'

// `kill -9` loses no acknowledged write: a process that awaited `set` (ack 'local', the
// default) and dies at once must find the write after a restart. The write log used to
// buffer the record until the end of the event loop's turn, after the awaiting code had
// already run: a service that answered its client and was killed in the same turn lost it.

const ROOT = resolve(import.meta.dirname, '../..')

describe('kill -9 right after an awaited write (a real process, SIGKILL)', () => {
  it('every awaited set, setMany and delete is in the data dir when the process dies in the same turn', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcache-kill-after-await-'))
    const script = join(dir, 'child.mts')
    writeFileSync(
      script,
      `import { createCache } from ${JSON.stringify(join(ROOT, 'src/index.ts'))}
const c = await createCache({ dataDir: ${JSON.stringify(join(dir, 'data'))}, snapshotInterval: '1h' })
await c.set('gone', 'soon')
await new Promise((r) => setTimeout(r, 50))
await c.set('order:1', { paid: true })
await c.setMany([['order:2', 2], ['order:3', 3]])
await c.delete('gone')
process.kill(process.pid, 'SIGKILL')
`,
    )
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(child.signal, child.stderr).toBe('SIGKILL')
    const c = await createCache({ dataDir: join(dir, 'data') })
    try {
      expect(c.get('order:1')).toEqual({ paid: true })
      expect(c.get('order:2')).toBe(2)
      expect(c.get('order:3')).toBe(3)
      expect(c.get('gone')).toBeUndefined()
    } finally {
      await c.close()
    }
  })
})
