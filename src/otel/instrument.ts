import type { TracingChannelSubscribers } from 'node:diagnostics_channel'
import {
  type Attributes,
  context,
  type MeterProvider,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import type { Cache } from '../api/cache.js'
import { InvalidOptionError } from '../errors.js'
import { checkOptionNames } from '../option-names.js'
import {
  type FetchOutcome,
  type FetchTrace,
  fetchChannel,
  type LoadTrace,
  loadChannel,
  type ReplicateTrace,
  replicateChannel,
  setTraceScope,
} from '../trace-channels.js'
import { CacheObserver } from './cache-observer.js'
import { OTEL_DEFAULTS } from './defaults.js'
import { OTEL_NAMES } from './otel-names.js'

const A = OTEL_NAMES.attributes
const M = OTEL_NAMES.metrics

/** Options of {@link instrumentOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider
  /** Where metrics go. @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider
  /**
   * Start `cache.fetch` spans only inside a trace (an active span when `fetch` is called);
   * metrics are recorded either way. A hit costs ~100 ns, a span far more. @default true
   */
  requireParentSpan?: boolean
  /** Put the key on spans as `cache.key` (keys may carry personal data). @default false */
  includeKeys?: boolean
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'tracerProvider',
  'meterProvider',
  'requireParentSpan',
  'includeKeys',
])

/** A live instrumentation: what {@link instrumentOpenTelemetry} returns. */
export interface OpenTelemetryInstrumentation {
  /**
   * Reports `cache.stats()` as the metrics `cache.gets`, `cache.puts`, `cache.evictions`
   * and `cache.size`, read when the meter collects (nothing runs per operation), until
   * the cache closes or {@link disable}. @returns what stops observing this cache
   */
  observe(cache: Cache<unknown>): () => void
  /** Unsubscribes from the channels and stops observing; spans still open are not ended. Idempotent. */
  disable(): void
}

/** One traced operation: its span, when one was started. */
interface Op {
  span: Span | undefined
}

let live: OpenTelemetryInstrumentation | undefined

/**
 * Subscribes to meshcache's tracing channels and reports them to OpenTelemetry: a
 * `cache.fetch` span per `fetch` (child of the caller's active span) with a `cache.load`
 * child when it calls `load` (spans the loader starts are children of `cache.load`), the
 * histograms `cache.fetch.duration` and `cache.load.duration`, and for replication
 * `meshcache.replication.lag` and `meshcache.replication.records`. Names and why:
 * {@link OTEL_NAMES}, docs/tracing.md. Needs `@opentelemetry/api` (an optional peer
 * dependency of meshcache) and, for parent/child spans, a context manager (every
 * OpenTelemetry Node SDK setup registers one).
 * @throws InvalidOptionError for an unknown option, or when an instrumentation is
 *   already live in this process (disable it first)
 */
export function instrumentOpenTelemetry(
  options: OpenTelemetryOptions = {},
): OpenTelemetryInstrumentation {
  checkOptionNames(options, OPTION_NAMES, 'instrumentOpenTelemetry')
  if (live !== undefined) {
    throw new InvalidOptionError(
      'meshcache/otel is already instrumented in this process; call disable() on the first instrumentation before starting another',
    )
  }
  const requireParent = options.requireParentSpan ?? OTEL_DEFAULTS.requireParentSpan
  const includeKeys = options.includeKeys ?? OTEL_DEFAULTS.includeKeys
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(OTEL_NAMES.scope)
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(OTEL_NAMES.scope)
  const durationAdvice = { explicitBucketBoundaries: [...OTEL_DEFAULTS.durationBuckets] }
  const fetchDuration = meter.createHistogram(M.fetchDuration, {
    unit: 's',
    description: 'Duration of fetch, from the call to the value, by keyspace and result.',
    advice: durationAdvice,
  })
  const loadDuration = meter.createHistogram(M.loadDuration, {
    unit: 's',
    description: 'Duration of the load calls of fetch on a miss.',
    advice: durationAdvice,
  })
  const lag = meter.createHistogram(M.replicationLag, {
    unit: 's',
    description: "Replication lag of each received batch's oldest record (receive time - stamp).",
    advice: { explicitBucketBoundaries: [...OTEL_DEFAULTS.lagBuckets] },
  })
  const records = meter.createCounter(M.replicationRecords, {
    unit: '{record}',
    description: 'Records (writes, deletes) received from other nodes.',
  })
  const observer = new CacheObserver(meter)
  // Strong keys are fine: every traced operation settles and is deleted then.
  const ops = new WeakMap<object, Op>()

  const start = (t: FetchTrace | LoadTrace, name: string, parentRequired: boolean): void => {
    const parent = context.active()
    const span =
      parentRequired && trace.getSpan(parent) === undefined
        ? undefined
        : startSpan(tracer, name, spanAttributes(t, includeKeys), parent)
    ops.set(t, { span })
  }
  const finish = (t: object): Op | undefined => {
    const op = ops.get(t)
    ops.delete(t)
    return op
  }

  const fetchSubscribers = subscribers<FetchTrace>({
    start: (t) => start(t, OTEL_NAMES.spans.fetch, requireParent),
    asyncEnd: (t) => {
      const op = finish(t)
      if (op === undefined) return
      const failed = 'error' in t
      const attrs: Attributes = { [A.name]: t.keyspace }
      if (failed) attrs[A.errorType] = errorType(t.error)
      else if (t.outcome !== undefined) attrs[A.result] = t.outcome
      fetchDuration.record(seconds(t), attrs)
      const span = op.span
      if (span === undefined) return
      if (!failed && t.outcome !== undefined) {
        span.setAttribute(A.result, t.outcome)
        span.setAttribute(A.hit, servedWithoutLoad(t.outcome))
      }
      if (t.shared) span.setAttribute(A.shared, true)
      if (failed) fail(span, t.error)
      span.end()
    },
  })
  const loadSubscribers = subscribers<LoadTrace>({
    // A load runs inside its fetch: its parent is the fetch span when there is one.
    start: (t) => start(t, OTEL_NAMES.spans.load, requireParent),
    asyncEnd: (t) => {
      const op = finish(t)
      if (op === undefined) return
      const attrs: Attributes = { [A.name]: t.keyspace }
      if ('error' in t) attrs[A.errorType] = errorType(t.error)
      loadDuration.record(seconds(t), attrs)
      if (op.span === undefined) return
      if ('error' in t) fail(op.span, t.error)
      op.span.end()
    },
  })
  const replicateSubscribers = subscribers<ReplicateTrace>({
    // Metrics only: a span per received batch would be a root span per batch, at line rate.
    end: (t) => {
      lag.record(t.lagMs / 1_000, { [A.name]: t.keyspace, [A.originRegion]: t.region })
      records.add(t.records, {
        [A.name]: t.keyspace,
        [A.originRegion]: t.region,
        [A.via]: t.via,
      })
    },
  })
  fetchChannel.subscribe(fetchSubscribers)
  loadChannel.subscribe(loadSubscribers)
  replicateChannel.subscribe(replicateSubscribers)
  // The traced work runs with its span active, so the load's span (and whatever the
  // loader starts) nests under it.
  setTraceScope((t, fn) => {
    const span = ops.get(t)?.span
    return span === undefined ? fn() : context.with(trace.setSpan(context.active(), span), fn)
  })

  let disabled = false
  const instrumentation: OpenTelemetryInstrumentation = {
    observe: (cache) => observer.add(cache),
    disable: () => {
      if (disabled) return
      disabled = true
      fetchChannel.unsubscribe(fetchSubscribers)
      loadChannel.unsubscribe(loadSubscribers)
      replicateChannel.unsubscribe(replicateSubscribers)
      setTraceScope(undefined)
      observer.close()
      live = undefined
    },
  }
  live = instrumentation
  return instrumentation
}

/** All five handlers, the missing ones empty (Node's types want every one). */
function subscribers<T extends object>(
  some: Partial<TracingChannelSubscribers<T>>,
): TracingChannelSubscribers<T> {
  const none = () => {}
  return {
    start: some.start ?? none,
    end: some.end ?? none,
    asyncStart: some.asyncStart ?? none,
    asyncEnd: some.asyncEnd ?? none,
    error: some.error ?? none,
  }
}

function startSpan(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  parent: ReturnType<typeof context.active>,
): Span {
  return tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent)
}

function spanAttributes(t: FetchTrace | LoadTrace, includeKeys: boolean): Attributes {
  return includeKeys ? { [A.name]: t.keyspace, [A.key]: t.key } : { [A.name]: t.keyspace }
}

/** `cache.hit`: the value was served without calling `load` (held here, stale, or a peer's). */
function servedWithoutLoad(outcome: FetchOutcome): boolean {
  return outcome === 'hit' || outcome === 'stale' || outcome === 'peer'
}

/** The operation's duration in seconds, as the node measured it on its clock. */
function seconds(t: FetchTrace | LoadTrace): number {
  return t.durationMs / 1_000
}

function fail(span: Span, err: unknown): void {
  span.setAttribute(A.errorType, errorType(err))
  if (err instanceof Error) span.recordException(err)
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.message : String(err),
  })
}

/**
 * OpenTelemetry's `error.type`: meshcache's stable error code (`ERR_TIMEOUT`, ...), else
 * the error's class name, else `_OTHER` (the value the conventions reserve for unknowns).
 */
function errorType(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.length > 0) return code
  if (err instanceof Error) return err.name
  return '_OTHER'
}
