import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// A node's timers never keep the process alive, but a wait that a caller's promise
// depends on must: `close()` lingers and bounds libp2p's stop on timers, and a consistent
// fetch polls on them. With nothing else alive, Node used to exit in the middle
// ("unsettled top-level await", exit code 13): the code after `await close()` never ran.

const ROOT = resolve(import.meta.dirname, '../..')

function run(body: string): ReturnType<typeof spawnSync> {
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-await-settles-'))
  const script = join(dir, 'child.mts')
  writeFileSync(
    script,
    `import { createCache } from ${JSON.stringify(join(ROOT, 'src/index.ts'))}\n${body}\n`,
  )
  return spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  })
}

describe('awaited calls settle before the process may exit (real processes)', () => {
  it("a mesh node's close() returns, and the code after it runs", () => {
    const child = run(`const c = await createCache({ listen: [] })
await c.close()
console.log('after close')`)
    expect(child.stderr).not.toMatch(/unsettled top-level await/)
    expect(child.stdout).toContain('after close')
    expect(child.status).toBe(0)
  })

  it('a fetch waiting for a version polls to its timeout, and the code after it runs', () => {
    const child = run(`const c = await createCache({ dataDir: undefined })
const v = await c.set('k', 1)
try {
  await c.fetch('k', { atLeast: { ...v, wall: v.wall + 60_000 }, readTimeout: '300ms' })
} catch (err) {
  console.log('rejected', err.code)
}
await c.close()`)
    expect(child.stdout).toContain('rejected ERR_TIMEOUT')
    expect(child.status).toBe(0)
  })
})
