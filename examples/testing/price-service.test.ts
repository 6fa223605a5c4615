/**
 * The test a team writes for a service that embeds meshcache: "my endpoint keeps
 * answering from cache while eu-west is cut off, and converges after the heal".
 * Real meshcache nodes, real sockets, a simulated WAN; runs under node:test:
 *
 *   npm run example:testing
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { createTestMesh } from '../../src/testing/index.js' // in your project: from 'meshcache/testing'
import { type Price, type PriceOrigin, priceService } from './price-service.js'

/** The origin: a map, counting how often each region had to ask it. */
function fakeOrigin() {
  const prices = new Map<string, Price>([['apple', { sku: 'apple', cents: 100 }]])
  const loads: string[] = []
  const origin: PriceOrigin = {
    async load(sku) {
      loads.push(sku)
      return prices.get(sku)
    },
    async save(price) {
      prices.set(price.sku, price)
    },
  }
  return { origin, loads }
}

/** Polls `check` until it stops throwing, for at most `ms`. */
async function eventually(check: () => Promise<void>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 20))
    }
  }
}

test('eu-west keeps answering from its cache while cut off, and converges after the heal', async (t) => {
  const mesh = await createTestMesh<Price>({
    regions: { 'us-east': 2, 'eu-west': 1 },
    oneWayMs: 40,
  })
  t.after(() => mesh.close())
  const { origin, loads } = fakeOrigin()

  // One instance of the service per node, as each region would run it.
  const urls = new Map<string, string>()
  for (const [i, cache] of mesh.caches.entries()) {
    const server = priceService(cache, origin)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.after(() => new Promise((resolve) => server.close(resolve)))
    urls.set(`${cache.region}#${i}`, `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  }
  const [usA, usB, eu] = [...urls.values()] as [string, string, string]
  const get = async (base: string, sku: string) => {
    const res = await fetch(`${base}/price/${sku}`, { signal: AbortSignal.timeout(2_000) })
    return { status: res.status, body: (await res.json()) as Price & { servedBy: string } }
  }
  const put = (base: string, sku: string, cents: number) =>
    fetch(`${base}/price/${sku}`, {
      method: 'PUT',
      body: JSON.stringify({ cents }),
      signal: AbortSignal.timeout(2_000),
    })

  // Warm: eu-west loads the price once; the mesh carries it to us-east.
  assert.equal((await get(eu, 'apple')).body.cents, 100)
  await mesh.converged()
  assert.equal((await get(usA, 'apple')).body.cents, 100)
  assert.deepEqual(loads, ['apple'], 'us-east was served by the replica, not the origin')

  // eu-west is cut off; us-east changes the price.
  await mesh.partition('eu-west')
  assert.equal((await put(usA, 'apple', 120)).status, 200)
  await eventually(async () => assert.equal((await get(usB, 'apple')).body.cents, 120))

  // eu-west keeps answering, from its cache, at local speed: the old price, no origin call.
  const started = performance.now()
  const during = await get(eu, 'apple')
  assert.equal(during.status, 200)
  assert.equal(during.body.cents, 100)
  assert.equal(during.body.servedBy, 'eu-west')
  assert.ok(performance.now() - started < 1_000, 'answered without waiting on the cut link')
  assert.deepEqual(loads, ['apple'])

  // After the heal every region serves the new price.
  await mesh.heal()
  await mesh.converged()
  assert.equal((await get(eu, 'apple')).body.cents, 120)
})
