/**
 * `meshcache/testing` under node:test, as a user runs it (`node --test`): run by
 * test/process/testing-runners.test.ts, which also checks that this process exits by
 * itself (no --test-force-exit) once the tests are done.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createTestMesh } from '../../src/testing/index.js'

/** Active handles and requests by type. */
function resources(): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of process.getActiveResourcesInfo()) out.set(r, (out.get(r) ?? 0) + 1)
  return out
}

async function eventually(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('a write crosses the simulated WAN; a cut region misses it until the heal', async () => {
  await using mesh = await createTestMesh({ regions: { 'us-east': 2, 'eu-west': 1 }, oneWayMs: 30 })
  const [us1, us2, eu] = mesh.caches
  assert.ok(us1 && us2 && eu)
  await us1.set('hello', 'world')
  await eventually(() => eu.get('hello') === 'world', 'replicated to eu-west')

  await mesh.partition('eu-west')
  await us1.set('during', 'cut')
  await eventually(() => us2.has('during'), 'replicated inside us-east')
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(eu.has('during'), false)

  await mesh.heal()
  await mesh.converged()
  assert.equal(eu.get('during'), 'cut')
})

test('close() leaves no handle of the mesh open', async () => {
  const before = resources()
  const mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 } })
  await mesh.caches[0]!.set('k', 1)
  await mesh.close()
  const left = [...resources()].filter(([kind, n]) => n > (before.get(kind) ?? 0))
  assert.deepEqual(left, [])
})
