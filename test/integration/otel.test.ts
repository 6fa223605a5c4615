import { context, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { ManualClock } from '../../src/clock/clock.js'
import { InvalidOptionError, TimeoutError } from '../../src/errors.js'
import { createCache, startNode } from '../../src/node/create-cache.js'
import {
  instrumentOpenTelemetry,
  type OpenTelemetryInstrumentation,
  type OpenTelemetryOptions,
} from '../../src/otel/index.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { waitFor } from '../helpers/wait.js'

/**
 * `meshcache/otel` with the OpenTelemetry SDK's in-memory span exporter and a metric
 * reader collected on demand: spans cache.fetch / cache.load (parents, attributes,
 * error status), the fetch and load histograms, the stats-backed cache metrics, and the
 * replication metrics on a real 2-node mesh.
 */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(exporter)],
})
const app = tracerProvider.getTracer('app')
let reader: TestReader
let instrumentation: OpenTelemetryInstrumentation | undefined
let mesh: TestMesh | undefined
const open: Cache<unknown>[] = []

beforeAll(() => {
  // What every OpenTelemetry Node setup registers: without it no span has a parent.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
})
afterAll(() => {
  context.disable()
})
beforeEach(() => {
  exporter.reset()
})
afterEach(async () => {
  instrumentation?.disable()
  instrumentation = undefined
  await Promise.all(open.splice(0).map((c) => c.close()))
  await mesh?.close()
  mesh = undefined
})

function instrument(options: OpenTelemetryOptions = {}): OpenTelemetryInstrumentation {
  reader = new TestReader()
  instrumentation = instrumentOpenTelemetry({
    tracerProvider,
    meterProvider: new MeterProvider({ readers: [reader] }),
    ...options,
  })
  return instrumentation
}

async function make(): Promise<Cache<unknown>> {
  const c = await createCache()
  open.push(c)
  return c
}

/** Runs `fn` inside an application span, as a request handler would. */
function inRequest<T>(fn: () => Promise<T>): Promise<T> {
  return app.startActiveSpan('GET /users/:id', async (span) => {
    try {
      return await fn()
    } finally {
      span.end()
    }
  })
}

const spans = (name: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.name === name)
const spanNamed = (name: string): ReadableSpan => {
  const found = spans(name)
  expect(found, `one ${name} span`).toHaveLength(1)
  return found[0]!
}
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId

async function metric(name: string): Promise<MetricData | undefined> {
  const { resourceMetrics } = await reader.collect()
  return resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name)
}
const point = (m: MetricData | undefined, attrs: Record<string, unknown>) =>
  (m?.dataPoints as DataPoint<unknown>[] | undefined)?.find((p) =>
    Object.entries(attrs).every(([k, v]) => p.attributes[k] === v),
  )

describe('spans', () => {
  it('a hit: one cache.fetch span under the request span, cache.result hit, cache.hit true, no key, no load span', async () => {
    instrument()
    const cache = await make()
    await cache.set('u1', 'ada')
    expect(await inRequest(() => cache.fetch('u1'))).toBe('ada')
    const fetch = spanNamed('cache.fetch')
    expect(parentOf(fetch)).toBe(spanNamed('GET /users/:id').spanContext().spanId)
    expect(fetch.attributes).toEqual({
      'cache.name': 'default',
      'cache.result': 'hit',
      'cache.hit': true,
    })
    expect(fetch.status.code).toBe(SpanStatusCode.UNSET)
    expect(spans('cache.load')).toHaveLength(0)
  })

  it('a miss: cache.load is a child of cache.fetch, and spans the loader starts are children of cache.load', async () => {
    instrument({ includeKeys: true })
    const cache = await make()
    const load = () =>
      app.startActiveSpan('SELECT users', async (span) => {
        span.end()
        return 'ada'
      })
    expect(await inRequest(() => cache.keyspace('users').fetch('u1', { load }))).toBe('ada')
    const fetch = spanNamed('cache.fetch')
    const loadSpan = spanNamed('cache.load')
    expect(parentOf(loadSpan)).toBe(fetch.spanContext().spanId)
    expect(loadSpan.spanContext().traceId).toBe(fetch.spanContext().traceId)
    expect(parentOf(spanNamed('SELECT users'))).toBe(loadSpan.spanContext().spanId)
    expect(fetch.attributes).toMatchObject({
      'cache.name': 'users',
      'cache.key': 'u1',
      'cache.result': 'load',
      'cache.hit': false,
    })
    expect(loadSpan.attributes).toEqual({ 'cache.name': 'users', 'cache.key': 'u1' })
  })

  it('a loader that throws: cache.load and cache.fetch end with error status, error.type and the exception', async () => {
    instrument()
    const cache = await make()
    const boom = new TimeoutError('origin timed out')
    await expect(
      inRequest(() =>
        cache.fetch('k', {
          load: async () => {
            throw boom
          },
        }),
      ),
    ).rejects.toBe(boom)
    for (const name of ['cache.load', 'cache.fetch']) {
      const s = spanNamed(name)
      expect(s.status).toEqual({ code: SpanStatusCode.ERROR, message: 'origin timed out' })
      expect(s.attributes['error.type']).toBe('ERR_TIMEOUT')
      expect(s.events.map((e) => e.name)).toEqual(['exception'])
    }
    expect(spanNamed('cache.fetch').attributes['cache.result']).toBeUndefined()
  })

  it('outside any trace no span by default (requireParentSpan), a root span when asked; metrics either way', async () => {
    instrument()
    const cache = await make()
    await cache.fetch('k', { load: () => 'v' })
    expect(exporter.getFinishedSpans()).toHaveLength(0)
    const hist = point(await metric('cache.fetch.duration'), { 'cache.result': 'load' })
    expect((hist?.value as Histogram | undefined)?.count).toBe(1)
    instrumentation!.disable()
    instrument({ requireParentSpan: false })
    await cache.fetch('k')
    expect(parentOf(spanNamed('cache.fetch'))).toBeUndefined()
  })

  it('disable() stops every span; a second live instrumentation is refused', async () => {
    const first = instrument()
    expect(() => instrumentOpenTelemetry()).toThrow(InvalidOptionError)
    expect(() => instrumentOpenTelemetry({ tracerProvder: tracerProvider } as never)).toThrow(
      /did you mean 'tracerProvider'/,
    )
    first.disable()
    const cache = await make()
    await inRequest(() => cache.fetch('k', { load: () => 'v' }))
    expect(spans('cache.fetch')).toHaveLength(0)
  })
})

describe('metrics', () => {
  it('cache.fetch.duration by result and cache.load.duration in seconds; stats-backed cache.gets, cache.puts, cache.size', async () => {
    const otel = instrument()
    const cache = await make()
    otel.observe(cache)
    await cache.fetch('a', { load: () => 1 }) // load
    await cache.fetch('a') // hit
    await cache.fetch('a') // hit
    await cache.fetch('none') // miss
    const fetches = await metric('cache.fetch.duration')
    expect(fetches?.descriptor.unit).toBe('s')
    const count = (result: string) =>
      (point(fetches, { 'cache.name': 'default', 'cache.result': result })?.value as Histogram)
        ?.count
    expect([count('load'), count('hit'), count('miss')]).toEqual([1, 2, 1])
    const loads = point(await metric('cache.load.duration'), { 'cache.name': 'default' })
    const loadHist = loads?.value as Histogram
    expect(loadHist.count).toBe(1)
    expect(loadHist.sum).toBeLessThan(1) // seconds, not ms
    const stats = cache.stats().keyspaces.default!
    const gets = await metric('cache.gets')
    expect(point(gets, { 'cache.name': 'default', 'cache.result': 'hit' })?.value).toBe(stats.hits)
    expect(point(gets, { 'cache.name': 'default', 'cache.result': 'miss' })?.value).toBe(
      stats.misses,
    )
    expect(stats.hits).toBeGreaterThanOrEqual(2)
    expect(point(await metric('cache.puts'), { 'cache.name': 'default' })?.value).toBe(1)
    expect(point(await metric('cache.size'), { 'cache.name': 'default' })?.value).toBe(1)
  })

  it("durations are the node's: measured on its clock, a 250 ms loader gives 0.25 s in both histograms, a hit 0", async () => {
    instrument()
    const clock = new ManualClock()
    const cache = await startNode({}, { clock })
    open.push(cache)
    await cache.fetch('a', {
      load: () => {
        clock.advance(250)
        return 1
      },
    })
    await cache.fetch('a') // hit
    const fetches = await metric('cache.fetch.duration')
    const sum = (result: string) =>
      (point(fetches, { 'cache.name': 'default', 'cache.result': result })?.value as Histogram)?.sum
    expect([sum('load'), sum('hit')]).toEqual([0.25, 0])
    const loads = point(await metric('cache.load.duration'), { 'cache.name': 'default' })
    expect((loads?.value as Histogram | undefined)?.sum).toBe(0.25)
  })

  it('meshcache.replication.records and .lag on the receiving node of a real 2-node mesh', async () => {
    mesh = await createTestMesh({ regions: { 'us-east': 1, 'eu-west': 1 }, oneWayMs: 30 })
    const [us, eu] = mesh.caches as [Cache<unknown>, Cache<unknown>]
    instrument()
    eu.keyspace('orders')
    await us.keyspace('orders').setMany([
      ['o1', 1],
      ['o2', 2],
    ])
    await waitFor(() => eu.keyspace('orders').get('o2') === 2, 'the batch to reach eu-west')
    const attrs = { 'cache.name': 'orders', 'meshcache.origin.region': 'us-east' }
    const records = point(await metric('meshcache.replication.records'), attrs)
    expect(records?.value).toBe(2)
    expect(records?.attributes['meshcache.replication.via']).toBe('relay')
    const lag = point(await metric('meshcache.replication.lag'), attrs)?.value as Histogram
    expect(lag.count).toBe(1)
    expect(lag.sum).toBeGreaterThanOrEqual(0.025)
    expect(lag.sum).toBeLessThan(2)
  })
})

// The tracer's own context must not leak between tests: every span above was ended.
afterAll(() => {
  expect(trace.getActiveSpan()).toBeUndefined()
})
