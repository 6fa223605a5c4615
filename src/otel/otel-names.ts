/**
 * The names `meshcache/otel` reports under, in one place. There are no OpenTelemetry
 * semantic conventions for caches yet: span names and the `cache.hit` / `cache.key`
 * attributes follow what cache instrumentations already emit (Bentocache's
 * `@bentocache/otel`, Sentry's cache module), metric names follow Micrometer's cache
 * meters (`cache.gets`, `cache.puts`, `cache.evictions`, `cache.size`), and everything
 * follows OpenTelemetry's naming rules: dotted namespaced attribute keys, UCUM units,
 * durations as histograms in seconds, `error.type` on failures. Why not the database
 * client conventions: docs/decisions/tracing.md.
 */
export const OTEL_NAMES = {
  /** Instrumentation scope of the tracer and the meter. */
  scope: 'meshcache',
  /** Span names. */
  spans: {
    /** A `fetch`, from its call to its value. */
    fetch: 'cache.fetch',
    /** The `load` call of a `fetch` on a miss (a child of its `cache.fetch`). */
    load: 'cache.load',
  },
  /** Attribute keys, on spans and metrics. */
  attributes: {
    /** The keyspace (Micrometer's `cache` tag: the cache's name). */
    name: 'cache.name',
    /** The key, only with `includeKeys` (keys may carry personal data). */
    key: 'cache.key',
    /** True when the value was served without calling `load`: outcome hit, stale or peer. */
    hit: 'cache.hit',
    /** `hit` | `stale` | `peer` | `load` | `miss` on fetches; `hit` | `miss` on `cache.gets`. */
    result: 'cache.result',
    /** True when the fetch joined a lookup or load another fetch of the key had started. */
    shared: 'meshcache.fetch.shared',
    /** Region of the node that wrote a replicated batch. */
    originRegion: 'meshcache.origin.region',
    /** `relay` or `direct` (a write sent for `ack`). */
    via: 'meshcache.replication.via',
    /** OpenTelemetry's general attribute for a failure: the error's `code`, else its name. */
    errorType: 'error.type',
  },
  /** Metric names (units in the instruments: s, {get}, {entry}...). */
  metrics: {
    /** Histogram, s: `fetch` duration by keyspace and result. */
    fetchDuration: 'cache.fetch.duration',
    /** Histogram, s: `load` duration by keyspace (`error.type` when it threw). */
    loadDuration: 'cache.load.duration',
    /** Counter, {get}: reads by keyspace and result (hit, miss), from `stats()`. */
    gets: 'cache.gets',
    /** Counter, {put}: local writes by keyspace, from `stats()`. */
    puts: 'cache.puts',
    /** Counter, {eviction}: entries the LRU dropped to make room, from `stats()`. */
    evictions: 'cache.evictions',
    /** UpDownCounter, {entry}: values held by keyspace, from `stats()`. */
    size: 'cache.size',
    /** Histogram, s: lag of each received batch's oldest record, by origin region. */
    replicationLag: 'meshcache.replication.lag',
    /** Counter, {record}: records received from other nodes, by origin region. */
    replicationRecords: 'meshcache.replication.records',
  },
} as const
