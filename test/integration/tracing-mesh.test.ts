import { tracingChannel } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import {
  type FetchTrace,
  type LoadTrace,
  type ReplicateTrace,
  TRACE_CHANNELS,
} from '../../src/trace-channels.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The tracing channels on real nodes (real libp2p over loopback sockets, behind the
 * simulated WAN of `meshcache/testing`): `meshcache:replicate` for every batch a node
 * admits, with origin, region, records and lag; `meshcache:fetch` reports `peer` when
 * the value came from another node.
 */
let mesh: TestMesh | undefined
const stops: (() => void)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0)) stop()
  await mesh?.close()
  mesh = undefined
})

/** Records the contexts of one channel's `event` (subscribed by name, as a user would). */
function on<T extends object>(channel: string, event: 'start' | 'end' | 'asyncEnd'): T[] {
  const seen: T[] = []
  const none = (_: object) => {}
  const handlers = { start: none, end: none, asyncStart: none, asyncEnd: none, error: none }
  handlers[event] = (ctx) => {
    seen.push(ctx as T)
  }
  const tc = tracingChannel(channel)
  tc.subscribe(handlers)
  stops.push(() => tc.unsubscribe(handlers))
  return seen
}

describe('meshcache:replicate on a 2-node mesh', () => {
  it('fires once per admitted batch with keyspace, origin, region, records, applied and a lag of at least the link latency', async () => {
    const oneWayMs = 40
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 }, oneWayMs })
    const [us, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    const batches = on<ReplicateTrace>(TRACE_CHANNELS.replicate, 'end')
    const ours = () => batches.filter((b) => b.keyspace === 'users')
    eu.keyspace('users') // open on the receiver, so the batch is admitted as it arrives
    await us.keyspace('users').setMany([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ])
    await waitFor(() => eu.keyspace('users').get('c') === 3, 'the batch to reach eu-west')
    expect(ours()).toEqual([
      expect.objectContaining({
        keyspace: 'users',
        origin: us.stats().node,
        region: 'us-east',
        via: 'relay',
        records: 3,
        applied: 3,
        refused: 0,
      }),
    ])
    // Receive time minus stamp: at least the one-way latency, far below a second here.
    const lag = ours()[0]!.lagMs
    expect(lag).toBeGreaterThanOrEqual(oneWayMs - 5)
    expect(lag).toBeLessThan(2_000)
    expect(batches.every((b) => b.origin !== eu.stats().node)).toBe(true)
  })

  it("a write with ack: 'peer' arrives as a direct write too (via direct), and its relayed copy applies nothing", async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 } })
    const [us, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    const batches = on<ReplicateTrace>(TRACE_CHANNELS.replicate, 'end')
    eu.keyspace('acked') // a direct write is refused for a keyspace the receiver has not open
    await waitFor(() => us.admin.mesh!.subscribers('acked') === 1, 'eu-west to open acked')
    await us.keyspace('acked').set('k', 'v', { ack: 'peer' })
    expect(eu.keyspace('acked').get('k')).toBe('v')
    await waitFor(
      () => batches.filter((b) => b.keyspace === 'acked').length === 2,
      'both copies (direct and relayed) to be admitted',
    )
    const copies = batches.filter((b) => b.keyspace === 'acked')
    expect(copies.map((b) => b.via).sort()).toEqual(['direct', 'relay'])
    expect(copies.map((b) => b.applied).sort()).toEqual([0, 1])
  })
})

describe('meshcache:fetch outcome peer', () => {
  it('a fetch held by another node’s load lease gets outcome peer and calls no load; the loader’s fetch gets load', async () => {
    mesh = await createTestMesh({ regions: { 'eu-west': 2 } })
    const [x, y] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    const fetches = on<FetchTrace>(TRACE_CHANNELS.fetch, 'start')
    const loads = on<LoadTrace>(TRACE_CHANNELS.load, 'start')
    let release: (v: string) => void = () => {}
    const gate = new Promise<string>((r) => {
      release = r
    })
    // The start event is published synchronously inside fetch(): the last context is this call's.
    const fromX = x.fetch('cold', { load: () => gate })
    const xTrace = fetches.at(-1)!
    await waitFor(() => loads.length === 1, 'x to hold the lease and call its load')
    let yLoads = 0
    const fromY = y.fetch('cold', {
      load: () => {
        yLoads++
        return 'y'
      },
    })
    const yTrace = fetches.at(-1)!
    expect(yTrace).not.toBe(xTrace)
    release('from x')
    expect(await Promise.all([fromX, fromY])).toEqual(['from x', 'from x'])
    expect(yLoads).toBe(0)
    expect(loads).toHaveLength(1)
    expect(xTrace.outcome).toBe('load')
    expect(yTrace.outcome).toBe('peer')
    // Now held on both: a plain hit.
    await y.fetch('cold')
    expect(fetches.at(-1)!.outcome).toBe('hit')
  })
})
