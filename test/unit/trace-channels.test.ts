import { tracingChannel } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { ManualClock } from '../../src/clock/clock.js'
import { TimeoutError } from '../../src/errors.js'
import { createCache, startNode } from '../../src/node/create-cache.js'
import {
  type FetchTrace,
  fetchChannel,
  type LoadTrace,
  loadChannel,
  TRACE_CHANNELS,
} from '../../src/trace-channels.js'

/**
 * The `meshcache:fetch` and `meshcache:load` tracing channels on an embedded cache: each
 * fetch publishes one context from start to end with the exact outcome, loads nest
 * inside their fetch, errors are reported, and nothing is traced without subscribers.
 * (`peer` and `meshcache:replicate` need a mesh: test/integration/tracing-mesh.test.ts.)
 */
type Event = [name: string, ctx: object]

/** Subscribes to both channels by name, as a user would; records every event in order. */
function record(): { events: Event[]; stop: () => void } {
  const events: Event[] = []
  const on = (channel: string) => {
    const handlers = {
      start: (c: object) => events.push([`${channel}:start`, c]),
      end: (c: object) => events.push([`${channel}:end`, c]),
      asyncStart: (c: object) => events.push([`${channel}:asyncStart`, c]),
      asyncEnd: (c: object) => events.push([`${channel}:asyncEnd`, c]),
      error: (c: object) => events.push([`${channel}:error`, c]),
    }
    const tc = tracingChannel(channel)
    tc.subscribe(handlers)
    return () => tc.unsubscribe(handlers)
  }
  const stops = [on(TRACE_CHANNELS.fetch), on(TRACE_CHANNELS.load)]
  return {
    events,
    stop: () => {
      for (const stop of stops) stop()
    },
  }
}

const fetchEnds = (events: Event[]) =>
  events.filter(([n]) => n === 'meshcache:fetch:asyncEnd').map(([, c]) => c as FetchTrace)
const loadStarts = (events: Event[]) =>
  events.filter(([n]) => n === 'meshcache:load:start').map(([, c]) => c as LoadTrace)

const open: Cache<unknown>[] = []
let recording: ReturnType<typeof record> | undefined
async function make(): Promise<Cache<unknown>> {
  const c = await createCache()
  open.push(c)
  return c
}
afterEach(async () => {
  recording?.stop()
  recording = undefined
  vi.useRealTimers()
  vi.restoreAllMocks()
  await Promise.all(open.splice(0).map((c) => c.close()))
})

describe('meshcache:fetch', () => {
  it('a hit publishes start, end, asyncStart, asyncEnd on one context: keyspace, key, outcome hit, result', async () => {
    const cache = await make()
    await cache.set('k', 'v')
    recording = record()
    expect(await cache.fetch('k')).toBe('v')
    const { events } = recording
    expect(events.map(([n]) => n)).toEqual([
      'meshcache:fetch:start',
      'meshcache:fetch:end',
      'meshcache:fetch:asyncStart',
      'meshcache:fetch:asyncEnd',
    ])
    const ctx = events[0]![1]
    for (const [, c] of events) expect(c).toBe(ctx)
    expect(ctx).toMatchObject({
      keyspace: 'default',
      key: 'k',
      outcome: 'hit',
      shared: false,
      result: 'v',
    })
  })

  it('a miss with load: outcome load, and the load is traced inside the fetch (start and end between its own)', async () => {
    const cache = await make()
    recording = record()
    expect(await cache.keyspace('users').fetch('u1', { load: async () => 'ada' })).toBe('ada')
    const names = recording.events.map(([n]) => n)
    expect(names[0]).toBe('meshcache:fetch:start')
    expect(names.at(-1)).toBe('meshcache:fetch:asyncEnd')
    const loadAt = names.indexOf('meshcache:load:start')
    const loadEnd = names.indexOf('meshcache:load:asyncEnd')
    expect(loadAt).toBeGreaterThan(0)
    expect(loadEnd).toBeGreaterThan(loadAt)
    expect(loadEnd).toBeLessThan(names.indexOf('meshcache:fetch:asyncStart'))
    expect(loadStarts(recording.events)).toEqual([
      expect.objectContaining({ keyspace: 'users', key: 'u1', result: 'ada' }),
    ])
    expect(fetchEnds(recording.events)).toEqual([
      expect.objectContaining({ keyspace: 'users', key: 'u1', outcome: 'load', result: 'ada' }),
    ])
  })

  it('outcome miss when nothing holds the key and there is no load; load when load returns undefined', async () => {
    const cache = await make()
    recording = record()
    expect(await cache.fetch('none')).toBeUndefined()
    expect(await cache.fetch('none', { load: () => undefined })).toBeUndefined()
    expect(fetchEnds(recording.events).map((c) => c.outcome)).toEqual(['miss', 'load'])
    expect(loadStarts(recording.events)).toHaveLength(1)
  })

  it('concurrent misses: one load; the joiner is marked shared with the same outcome', async () => {
    const cache = await make()
    recording = record()
    let release: (v: string) => void = () => {}
    const gate = new Promise<string>((r) => {
      release = r
    })
    const load = () => gate
    const both = Promise.all([cache.fetch('k', { load }), cache.fetch('k', { load })])
    await vi.waitFor(() => expect(loadStarts(recording!.events)).toHaveLength(1))
    release('once')
    expect(await both).toEqual(['once', 'once'])
    const ends = fetchEnds(recording.events)
    expect(ends.map((c) => [c.outcome, c.shared]).sort()).toEqual([
      ['load', false],
      ['load', true],
    ])
    expect(loadStarts(recording.events)).toHaveLength(1)
  })

  it('a loader that throws: load and fetch publish error with it, no outcome', async () => {
    const cache = await make()
    recording = record()
    const boom = new TimeoutError('origin timed out')
    await expect(
      cache.fetch('k', {
        load: () => {
          throw boom
        },
      }),
    ).rejects.toBe(boom)
    const errors = recording.events.filter(([n]) => n.endsWith(':error'))
    expect(errors.map(([n]) => n)).toEqual(['meshcache:load:error', 'meshcache:fetch:error'])
    for (const [, c] of errors) expect((c as { error: unknown }).error).toBe(boom)
    expect(fetchEnds(recording.events)[0]!.outcome).toBeUndefined()
  })

  it('stale-while-revalidate: outcome stale, and the background refresh is a load of its own', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const cache = await make()
    await cache.set('k', 'old', { ttl: 1_000 })
    vi.setSystemTime(1_001_500)
    await Promise.resolve()
    recording = record()
    expect(await cache.fetch('k', { load: async () => 'new', staleWhileRevalidate: '10s' })).toBe(
      'old',
    )
    expect(fetchEnds(recording.events).map((c) => c.outcome)).toEqual(['stale'])
    await vi.waitFor(() => expect(cache.get('k')).toBe('new'))
    expect(loadStarts(recording.events)).toHaveLength(1)
  })

  it('stale-if-error: outcome stale when load fails inside the window', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] })
    const cache = await make()
    await cache.set('k', 'old', { ttl: 1_000 })
    vi.setSystemTime(1_003_000)
    await Promise.resolve()
    recording = record()
    const failing = async () => {
      throw new Error('origin down')
    }
    expect(await cache.fetch('k', { load: failing, staleIfError: '5s' })).toBe('old')
    expect(fetchEnds(recording.events).map((c) => [c.outcome, 'error' in c])).toEqual([
      ['stale', false],
    ])
  })

  it('wrap()ped functions are traced as fetches of their keys', async () => {
    const cache = await make()
    recording = record()
    const square = cache.wrap(async function square(n: number) {
      return n * n
    })
    expect(await square(3)).toBe(9)
    expect(await square(3)).toBe(9)
    expect(fetchEnds(recording.events).map((c) => [c.key, c.outcome])).toEqual([
      ['square:[3]', 'load'],
      ['square:[3]', 'hit'],
    ])
  })

  it('without subscribers nothing is traced: no context, no tracePromise', async () => {
    const cache = await make()
    await cache.set('k', 'v')
    const fetchTrace = vi.spyOn(fetchChannel, 'tracePromise')
    const loadTrace = vi.spyOn(loadChannel, 'tracePromise')
    expect(fetchChannel.hasSubscribers).toBe(false)
    expect(await cache.fetch('k')).toBe('v')
    expect(await cache.fetch('other', { load: () => 'x' })).toBe('x')
    expect(fetchTrace).not.toHaveBeenCalled()
    expect(loadTrace).not.toHaveBeenCalled()
    // And once someone subscribes, the same calls are traced.
    recording = record()
    await cache.fetch('k')
    expect(fetchTrace).toHaveBeenCalledTimes(1)
  })
})

describe('durationMs', () => {
  /** `durationMs` of each context as it was when each event was published. */
  function durations(): { seen: [event: string, durationMs: number][]; stop: () => void } {
    const seen: [string, number][] = []
    const stops = [TRACE_CHANNELS.fetch, TRACE_CHANNELS.load].map((channel) => {
      const at = (event: string) => (c: object) =>
        seen.push([`${channel}:${event}`, (c as FetchTrace | LoadTrace).durationMs])
      const handlers = {
        start: at('start'),
        end: () => {},
        asyncStart: at('asyncStart'),
        asyncEnd: () => {},
        error: at('error'),
      }
      const tc = tracingChannel(channel)
      tc.subscribe(handlers)
      return () => tc.unsubscribe(handlers)
    })
    return {
      seen,
      stop: () => {
        for (const stop of stops) stop()
      },
    }
  }

  it("is measured on the node's clock and set before asyncStart: the load's time, the fetch around it, 0 for a hit", async () => {
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    open.push(cache)
    const d = durations()
    try {
      await cache.fetch('k', {
        load: () => {
          clock.advance(250)
          return 'v'
        },
      })
      await cache.fetch('k')
    } finally {
      d.stop()
    }
    expect(d.seen).toEqual([
      ['meshcache:fetch:start', 0],
      ['meshcache:load:start', 0],
      ['meshcache:load:asyncStart', 250],
      ['meshcache:fetch:asyncStart', 250],
      ['meshcache:fetch:start', 0],
      ['meshcache:fetch:asyncStart', 0],
    ])
  })

  it('is set before error when the load throws', async () => {
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    open.push(cache)
    const d = durations()
    try {
      await expect(
        cache.fetch('k', {
          load: async () => {
            clock.advance(40)
            throw new Error('origin down')
          },
        }),
      ).rejects.toThrow('origin down')
    } finally {
      d.stop()
    }
    expect(d.seen.filter(([e]) => e.endsWith(':error'))).toEqual([
      ['meshcache:load:error', 40],
      ['meshcache:fetch:error', 40],
    ])
  })
})
