import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * `meshcache/testing` outside vitest: node:test files, run on the pinned Node as a user
 * runs them. A process that exits by itself, in time, with status 0 proves that
 * `close()` left nothing running (node:test does not force an exit).
 */
const root = resolve(import.meta.dirname, '../..')

function run(command: string, args: string[]) {
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 90_000 })
  return { status: r.status, signal: r.signal, out: `${r.stdout}\n${r.stderr}` }
}

describe('meshcache/testing from other test runners', () => {
  it('node:test: the tests pass and the process exits by itself', () => {
    const r = run(process.execPath, [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      'test/node-test/create-test-mesh.node-test.ts',
    ])
    expect(r.signal, r.out).toBeNull() // not killed by the timeout: it exited by itself
    expect(r.status, r.out).toBe(0)
    expect(r.out).toMatch(/ℹ pass 2/)
    expect(r.out).toMatch(/ℹ fail 0/)
  }, 120_000)

  it('npm run example:testing: the service test of examples/testing passes', () => {
    const r = run('npm', ['run', '--silent', 'example:testing'])
    expect(r.signal, r.out).toBeNull()
    expect(r.status, r.out).toBe(0)
    expect(r.out).toMatch(/ℹ pass 1/)
  }, 120_000)
})
