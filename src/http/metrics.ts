import { Counter, Gauge, Registry } from 'prom-client'
import type { Cache } from '../api/cache.js'
import type { MeshCounters } from '../ports/mesh-options.js'

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
  new Gauge({
    name: 'meshcache_replication_lag_ms',
    help: 'Replication lag (receive time minus write stamp) by origin region: estimated quantiles.',
    labelNames: ['region', 'quantile'],
    registers,
    collect() {
      this.reset()
      for (const [region, h] of Object.entries(mesh()?.lagByRegion ?? {})) {
        this.set({ region, quantile: '0.5' }, h.p50Ms)
        this.set({ region, quantile: '0.99' }, h.p99Ms)
        this.set({ region, quantile: '1' }, h.maxMs)
      }
    },
  })
  return registry
}
