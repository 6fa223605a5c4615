import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel'

/**
 * Names of meshcache's `node:diagnostics_channel` tracing channels. Subscribe with
 * `tracingChannel(TRACE_CHANNELS.fetch).subscribe({ start, end, asyncStart, asyncEnd, error })`;
 * Node names the underlying channels `tracing:meshcache:fetch:start` and so on. Each
 * event carries one context object per operation, the same object from `start` to
 * `asyncEnd` (or `error`), with `result` or `error` set by Node. Nothing is built or
 * published while a channel has no subscriber. Guide: docs/tracing.md.
 */
export const TRACE_CHANNELS = {
  /** A `fetch` (and every call of a `wrap`ped function) from its call to its value: {@link FetchTrace}. */
  fetch: 'meshcache:fetch',
  /** The `load` call a `fetch` makes on a miss: {@link LoadTrace}. */
  load: 'meshcache:load',
  /** A write batch received from another node and admitted: {@link ReplicateTrace}. */
  replicate: 'meshcache:replicate',
} as const

/**
 * Where the value a `fetch` returned came from: `hit`, held live here; `stale`, an
 * expired value served by `staleWhileRevalidate` (a refresh runs behind it) or
 * `staleIfError` (the lookup failed); `peer`, brought from another node (a lookup on the
 * miss, a consistent read that found a newer version, or the value another node loaded
 * under the key's load lease); `load`, from this node's `load` call (even when it
 * returned `undefined`); `miss`, nothing held anywhere and no `load` given.
 */
export type FetchOutcome = 'hit' | 'stale' | 'peer' | 'load' | 'miss'

/** Context of the `meshcache:fetch` channel: one `fetch` call. */
export interface FetchTrace {
  /** Keyspace of the key. */
  readonly keyspace: string
  /** The key asked for. */
  readonly key: string
  /** Where the value came from; set before `asyncStart`, undefined when the fetch threw. */
  outcome: FetchOutcome | undefined
  /**
   * True when this call waited for a lookup or `load` that a concurrent `fetch` of the
   * same key had started (single flight): its outcome is that call's, with no load of its own.
   */
  shared: boolean
  /**
   * Time from the call to its value (or its failure), ms of the node's monotonic clock;
   * set before `asyncStart` and `error`, 0 until then.
   */
  durationMs: number
  /** The value returned (set by Node on `asyncStart`). */
  result?: unknown
  /** What the call threw or rejected with (set by Node on `error`). */
  error?: unknown
}

/** Context of the `meshcache:load` channel: one call of a `fetch`'s `load`. */
export interface LoadTrace {
  /** Keyspace of the key. */
  readonly keyspace: string
  /** The key loaded. */
  readonly key: string
  /**
   * Time `load` took until it returned or threw, ms of the node's monotonic clock; set
   * before `asyncStart` and `error`, 0 until then.
   */
  durationMs: number
  /** What `load` returned (set by Node on `asyncStart`). */
  result?: unknown
  /** What `load` threw (set by Node on `error`). */
  error?: unknown
}

/** Context of the `meshcache:replicate` channel: one write batch from another node. */
export interface ReplicateTrace {
  /** Keyspace the batch writes. */
  readonly keyspace: string
  /** Node id (libp2p peer id) of the writer. */
  readonly origin: string
  /** Region of the writer. */
  readonly region: string
  /** `relay`: a relayed batch; `direct`: a write sent for `ack: 'peer' | 'quorum'`. */
  readonly via: 'relay' | 'direct'
  /** Records (writes and deletes) in the batch. */
  readonly records: number
  /**
   * Replication lag of the batch's oldest record: receive time minus its write stamp, ms
   * of wall clock (the mesh-corrected clocks of both nodes).
   */
  readonly lagMs: number
  /** Records that now stand here (newer than what was held); set before `end`. */
  applied: number
  /** Records refused (allowlist, clock drift, sizes, malformed); set before `end`. */
  refused: number
  /** What the admission returned (set by Node on `end`). */
  result?: unknown
  /** What the admission threw (set by Node on `error`; a bug, contained and counted). */
  error?: unknown
}

/** @internal The `meshcache:fetch` tracing channel. */
export const fetchChannel: TracingChannel<unknown, FetchTrace> = tracingChannel(
  TRACE_CHANNELS.fetch,
)
/** @internal The `meshcache:load` tracing channel. */
export const loadChannel: TracingChannel<unknown, LoadTrace> = tracingChannel(TRACE_CHANNELS.load)
/** @internal The `meshcache:replicate` tracing channel. */
export const replicateChannel: TracingChannel<unknown, ReplicateTrace> = tracingChannel(
  TRACE_CHANNELS.replicate,
)

/**
 * @internal Runs a traced operation's work inside a tracer's own context: `meshcache/otel`
 * makes the operation's span the active OpenTelemetry context, so spans started by a
 * `load` (its HTTP or database calls) are its children. `bindStore` cannot do this: the
 * OpenTelemetry context manager keeps its AsyncLocalStorage private.
 */
export type TraceScope = <T>(trace: object, fn: () => T) => T

let scope: TraceScope | undefined

/** @internal Sets (or with undefined, removes) the scope traced work runs in. */
export function setTraceScope(next: TraceScope | undefined): void {
  scope = next
}

/** @internal Runs `fn` in the tracer's scope for `trace`, or as it is when none is set. */
export function inTraceScope<T>(trace: object, fn: () => T): T {
  return scope === undefined ? fn() : scope(trace, fn)
}
