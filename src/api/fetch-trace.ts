/**
 * The `meshcache:fetch` and `meshcache:load` traces of a fetch: each runs its work in the
 * tracer's scope and times it on the node's clock (docs/tracing.md). Used only while a
 * channel has subscribers.
 * @module
 */
import type { Clock } from '../clock/clock.js'
import {
  type FetchTrace,
  fetchChannel,
  inTraceScope,
  type LoadTrace,
  loadChannel,
} from '../trace-channels.js'

/**
 * Runs a `fetch` inside a `meshcache:fetch` trace (and its tracer's scope, so the load's
 * span is the fetch span's child). Called only when the channel has subscribers.
 * @param clock - the node's clock: the trace's `durationMs` is on its monotonic time
 */
export function tracedFetch<V>(
  clock: Clock,
  keyspace: string,
  key: string,
  run: (trace: FetchTrace) => Promise<V>,
): Promise<V> {
  const trace: FetchTrace = { keyspace, key, outcome: undefined, shared: false, durationMs: 0 }
  return fetchChannel.tracePromise(
    () => timed(clock, trace, () => inTraceScope(trace, () => run(trace))),
    trace,
  )
}

/** Calls `load` inside a `meshcache:load` trace (and its tracer's scope, for child spans). */
export function tracedLoad<V>(
  clock: Clock,
  keyspace: string,
  key: string,
  load: () => V | Promise<V>,
): Promise<V> {
  const trace: LoadTrace = { keyspace, key, durationMs: 0 }
  // async: a loader that throws synchronously or returns a plain value still gives a promise.
  return loadChannel.tracePromise(
    () => timed(clock, trace, () => inTraceScope(trace, async () => load())),
    trace,
  )
}

/**
 * Runs `work`, setting the trace's `durationMs` when it settles: before the channel
 * publishes `asyncStart` (or `error`), so subscribers read the duration on the node's clock.
 */
function timed<T>(clock: Clock, trace: { durationMs: number }, work: () => Promise<T>): Promise<T> {
  const started = clock.monotonic()
  return work().finally(() => {
    trace.durationMs = clock.monotonic() - started
  })
}
