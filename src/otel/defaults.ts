/** Defaults of `meshcache/otel`, in one place. */
export const OTEL_DEFAULTS = {
  /** Spans only inside a trace the application started (a cache hit takes ~100 ns: a root span per hit would cost more than the hit). */
  requireParentSpan: true,
  /** Keys stay off spans unless asked for: they may carry personal data. */
  includeKeys: false,
  /**
   * Bucket bounds of `cache.fetch.duration` and `cache.load.duration`, s: from 10 µs (a
   * hit through the API) to 10 s (a slow origin). OpenTelemetry's default bounds are
   * milliseconds-sized numbers meant for ms units and would put every hit in the first bucket.
   */
  durationBuckets: [
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
    2.5, 5, 10,
  ],
  /** Bucket bounds of `meshcache.replication.lag`, s: 1 ms (one region) to 60 s (a heal). */
  lagBuckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
} as const
