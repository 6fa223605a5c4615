import { Counter, Gauge, Registry } from 'prom-client'
import type { Cache } from '../api/cache.js'
import type { LagSnapshot, MeshCounters, MeshStats } from '../ports/mesh-options.js'

/** Name of the replication lag histogram (seconds, by origin region). */
export const LAG_METRIC = 'meshcache_replication_lag_seconds'

/**
 * A Prometheus registry whose metrics are read from `cache.stats()` at scrape time: the
 * hot path only increments its own counters; nothing here runs per operation.
 */
export function cacheMetrics(cache: Cache<unknown>): Registry {
  const registry = new Registry()
  const registers = [registry]
  const ksCounter = (
    name: string,
    help: string,
    field: 'hits' | 'misses' | 'sets' | 'deletes' | 'evictions' | 'expirations',
  ) =>
    new Counter({
      name: `meshcache_${name}_total`,
      help,
      labelNames: ['keyspace'],
      registers,
      collect() {
        this.reset()
        for (const [ks, s] of Object.entries(cache.stats().keyspaces))
          this.inc({ keyspace: ks }, s[field])
      },
    })
  ksCounter('hits', 'Reads served from memory.', 'hits')
  ksCounter('misses', 'Reads that found nothing live.', 'misses')
  ksCounter('sets', 'Local writes.', 'sets')
  ksCounter('deletes', 'Local deletes.', 'deletes')
  ksCounter('evictions', 'Entries the LRU dropped to make room (local only).', 'evictions')
  ksCounter('expirations', 'Entries dropped at their expiry.', 'expirations')
  new Gauge({
    name: 'meshcache_entries',
    help: 'Entries held (values and tombstones).',
    labelNames: ['keyspace'],
    registers,
    collect() {
      this.reset()
      for (const [ks, s] of Object.entries(cache.stats().keyspaces))
        this.set({ keyspace: ks }, s.entries)
    },
  })
  const mesh = () => cache.stats().mesh
  new Gauge({
    name: 'meshcache_peers',
    help: 'Connected peers, by region.',
    labelNames: ['region'],
    registers,
    collect() {
      this.reset()
      for (const [region, n] of Object.entries(mesh()?.peersByRegion ?? {})) this.set({ region }, n)
    },
  })
  const repl = (name: string, help: string, field: keyof MeshCounters) =>
    new Counter({
      name: `meshcache_${name}_total`,
      help,
      registers,
      collect() {
        this.reset()
        const v = mesh()?.replication[field]
        if (typeof v === 'number') this.inc(v)
      },
    })
  repl('batches_out', 'Write batches published.', 'batchesOut')
  repl('batches_in', 'Write batches received and applied.', 'batchesIn')
  repl('records_out', 'Writes published.', 'recordsOut')
  repl('records_in', 'Writes received.', 'recordsIn')
  repl(
    'batches_dropped',
    'Batches not sent because the outbound bound was reached (repaired by sync).',
    'batchesDropped',
  )
  repl('sync_sessions', 'Anti-entropy sessions started.', 'syncSessions')
  repl('sync_pulled', 'Entries anti-entropy brought in.', 'syncPulled')
  repl('sync_pushed', 'Entries anti-entropy sent out.', 'syncPushed')
  repl('sync_bytes_out', 'Bytes of anti-entropy requests sent.', 'syncBytesOut')
  new Counter({
    name: 'meshcache_rejected_total',
    help: 'Input from the wire rejected, by reason.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset()
      for (const [reason, n] of Object.entries(mesh()?.replication.rejected ?? {}))
        this.inc({ reason }, n)
    },
  })
  registry.registerMetric(lagHistogram(mesh) as never)
  return registry
}

/** One sample of a metric, as prom-client's registry renders it. */
interface Sample {
  metricName: string
  labels: Record<string, string>
  value: number
}

/** Prometheus histogram samples (`_bucket{le}`, `_sum`, `_count`) of one lag snapshot, in seconds. */
export function lagSamples(name: string, region: string, lag: LagSnapshot): Sample[] {
  const samples: Sample[] = lag.buckets.map(([upperMs, count]) => ({
    metricName: `${name}_bucket`,
    labels: { region, le: upperMs === Number.POSITIVE_INFINITY ? '+Inf' : String(upperMs / 1_000) },
    value: count,
  }))
  if (lag.buckets.at(-1)?.[0] !== Number.POSITIVE_INFINITY) {
    samples.push({ metricName: `${name}_bucket`, labels: { region, le: '+Inf' }, value: lag.count })
  }
  samples.push({ metricName: `${name}_sum`, labels: { region }, value: lag.sumMs / 1_000 })
  samples.push({ metricName: `${name}_count`, labels: { region }, value: lag.count })
  return samples
}

/**
 * The replication lag as a real Prometheus histogram, per origin region: the mesh keeps
 * cumulative bucket counts, which a prom-client `Histogram` cannot be set from, so this
 * collector renders them as `_bucket{le}`, `_sum` and `_count` at scrape time. Unlike
 * quantile gauges, buckets add up across nodes (`histogram_quantile(0.99, sum by (le)
 * (rate(meshcache_replication_lag_seconds_bucket[5m])))`).
 */
function lagHistogram(mesh: () => MeshStats | undefined) {
  const help = 'Replication lag (receive time minus write stamp), seconds, by origin region.'
  return {
    name: LAG_METRIC,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    async get() {
      const values: Sample[] = []
      for (const [region, lag] of Object.entries(mesh()?.lagByRegion ?? {})) {
        values.push(...lagSamples(LAG_METRIC, region, lag))
      }
      return { name: LAG_METRIC, help, type: 'histogram', aggregator: 'sum', values }
    },
  }
}
