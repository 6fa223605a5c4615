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
    'signatures_checked',
    'Origin signatures checked on relayed batches and announcements (where verifyOrigins says they are due).',
    'signaturesChecked',
  )
  repl(
    'vouched_out',
    'Write batch copies this hub sent to other regions without the origin signature (vouched batches).',
    'vouchedOut',
  )
  repl(
    'vouched_withheld',
    'Vouched batches not passed to a neighbor that does not take them (anti-entropy brings them).',
    'vouchedWithheld',
  )
  repl(
    'batches_dropped',
    'Batches not sent because the outbound bound was reached (repaired by sync).',
    'batchesDropped',
  )
  repl(
    'wan_bytes_out',
    'Bytes of write batches sent to peers of other regions (each copy): the WAN cost of replication.',
    'wanBytesOut',
  )
  new Gauge({
    name: 'meshcache_links',
    help: 'Peers this node keeps links to (localPeers/remotePeers), by region.',
    labelNames: ['region'],
    registers,
    collect() {
      this.reset()
      const links = mesh()?.links
      if (links === undefined) return
      this.set({ region: cache.region }, links.local.length)
      for (const [region, ids] of Object.entries(links.remote)) this.set({ region }, ids.length)
    },
  })
  repl('sync_sessions', 'Anti-entropy sessions started.', 'syncSessions')
  repl(
    'sync_deferred',
    'Periodic anti-entropy rounds that waited a step because writes flowed fast.',
    'syncDeferred',
  )
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
  clockGauges(registers, mesh)
  registry.registerMetric(lagHistogram(mesh) as never)
  registry.registerMetric(stageHistogram(mesh) as never)
  return registry
}

/**
 * This node's clock against the mesh (docs/consistency.md, "Clocks"): its correction,
 * whether it is flagged or refuses writes, and each peer's measured offset (a peer whose
 * clock is off shows on every node that measures it).
 */
function clockGauges(registers: Registry[], mesh: () => MeshStats | undefined): void {
  const clockGauge = (name: string, help: string, read: (m: MeshStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.reset()
        const m = mesh()
        if (m !== undefined) this.set(read(m))
      },
    })
  clockGauge(
    'meshcache_clock_correction_seconds',
    'What this node adds to its host clock to read the mesh median clock, seconds.',
    (m) => m.clock.correctionMs / 1_000,
  )
  clockGauge(
    'meshcache_clock_skewed',
    "1 when this node's clock is flagged (corrected by more than 1 s, or that far off a majority of its peers): fix its time source.",
    (m) => (m.clock.skewed ? 1 : 0),
  )
  clockGauge(
    'meshcache_clock_refusing_writes',
    '1 while this node refuses writes (ERR_CLOCK_SKEW): its clock is more than maxClockDrift off a majority of its peers and they agree on no correction.',
    (m) => (m.clock.refusingWrites === true ? 1 : 0),
  )
  new Gauge({
    name: 'meshcache_peer_clock_offset_seconds',
    help: "Each connected peer's host clock minus this node's corrected clock, seconds (NTP-style estimate).",
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset()
      const m = mesh()
      for (const p of m?.peers ?? []) {
        if (p.clockOffsetMs !== undefined)
          this.set({ peer: p.id }, (p.clockOffsetMs - m!.clock.correctionMs) / 1_000)
      }
    },
  })
}

/** One sample of a metric, as prom-client's registry renders it. */
interface Sample {
  metricName: string
  labels: Record<string, string>
  value: number
}

/** Prometheus histogram samples (`_bucket{le}`, `_sum`, `_count`) of one lag snapshot, in seconds. */
export function lagSamples(
  name: string,
  region: string,
  lag: LagSnapshot,
  labelName = 'region',
): Sample[] {
  const label = { [labelName]: region }
  const samples: Sample[] = lag.buckets.map(([upperMs, count]) => ({
    metricName: `${name}_bucket`,
    labels: {
      ...label,
      le: upperMs === Number.POSITIVE_INFINITY ? '+Inf' : String(upperMs / 1_000),
    },
    value: count,
  }))
  if (lag.buckets.at(-1)?.[0] !== Number.POSITIVE_INFINITY) {
    samples.push({
      metricName: `${name}_bucket`,
      labels: { ...label, le: '+Inf' },
      value: lag.count,
    })
  }
  samples.push({ metricName: `${name}_sum`, labels: label, value: lag.sumMs / 1_000 })
  samples.push({ metricName: `${name}_count`, labels: label, value: lag.count })
  return samples
}

/**
 * Where replication lag goes, per stage (`queue`, `encode`, `send` on the writer;
 * `transit`, `verify`, `apply` on the receiver), seconds per batch, as a histogram.
 */
function stageHistogram(mesh: () => MeshStats | undefined) {
  const name = 'meshcache_replication_stage_seconds'
  const help =
    'Time per batch in each replication stage (writer: queue, encode, send; receiver: transit, verify, apply), seconds.'
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    async get() {
      const values: Sample[] = []
      for (const [stage, h] of Object.entries(mesh()?.stages ?? {})) {
        values.push(...lagSamples(name, stage, h, 'stage'))
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values }
    },
  }
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
