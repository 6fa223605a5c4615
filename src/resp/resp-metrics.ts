/**
 * The RESP listener's Prometheus metrics, added to the HTTP API's registry (the one
 * `/metrics` serves) and read from {@link RespStats} at scrape time: nothing runs per
 * command.
 *
 * - `meshcache_resp_commands_total{command}`, `meshcache_resp_command_errors_total{command}`
 * - `meshcache_resp_command_duration_seconds{command}` (histogram)
 * - `meshcache_resp_connections` (open now), `meshcache_resp_connections_total`,
 *   `meshcache_resp_connections_rejected_total`, `meshcache_resp_protocol_errors_total`,
 *   `meshcache_resp_output_limit_closes_total`, `meshcache_resp_auth_failures_total`
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import { RESP_LATENCY_BUCKETS_US, type RespStats } from './resp-stats.js'

/** Name of the per-command latency histogram. */
export const RESP_LATENCY_METRIC = 'meshcache_resp_command_duration_seconds'

interface Sample {
  metricName: string
  labels: Record<string, string>
  value: number
}

/** Adds the listener's metrics to `registry`. */
export function addRespMetrics(registry: Registry, stats: RespStats): void {
  const registers = [registry]
  const perCommand = (name: string, help: string, field: 'calls' | 'errors') =>
    new Counter({
      name,
      help,
      labelNames: ['command'],
      registers,
      collect() {
        this.reset()
        for (const [command, c] of stats.commands()) this.inc({ command }, c[field])
      },
    })
  perCommand('meshcache_resp_commands_total', 'RESP commands answered, by command.', 'calls')
  perCommand(
    'meshcache_resp_command_errors_total',
    'RESP commands answered with an error, by command.',
    'errors',
  )
  const counter = (
    name: string,
    help: string,
    field:
      | 'connectionsTotal'
      | 'connectionsRejected'
      | 'protocolErrors'
      | 'outputLimitCloses'
      | 'authFailures',
  ) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset()
        this.inc(stats[field])
      },
    })
  new Gauge({
    name: 'meshcache_resp_connections',
    help: 'Open RESP connections.',
    registers,
    collect() {
      this.set(stats.connections)
    },
  })
  counter('meshcache_resp_connections_total', 'RESP connections accepted.', 'connectionsTotal')
  counter(
    'meshcache_resp_connections_rejected_total',
    'RESP connections refused (over the most clients).',
    'connectionsRejected',
  )
  counter(
    'meshcache_resp_protocol_errors_total',
    'RESP clients closed for a malformed or oversized request.',
    'protocolErrors',
  )
  counter(
    'meshcache_resp_output_limit_closes_total',
    'RESP clients closed for not reading their replies.',
    'outputLimitCloses',
  )
  counter('meshcache_resp_auth_failures_total', 'RESP AUTH with a wrong password.', 'authFailures')
  registry.registerMetric(latencyHistogram(stats) as never)
}

/**
 * The per-command latency as a Prometheus histogram: {@link RespStats} keeps per-bucket
 * counts, rendered cumulatively (`_bucket{le}`, `_sum`, `_count`) at scrape time.
 */
function latencyHistogram(stats: RespStats) {
  const help = 'RESP command latency (parse to reply), seconds, by command.'
  const base = { name: RESP_LATENCY_METRIC, help, type: 'histogram', aggregator: 'sum' } as const
  return {
    ...base,
    reset() {},
    async get() {
      const values: Sample[] = []
      for (const [command, c] of stats.commands()) {
        let cumulative = 0
        for (let i = 0; i < c.buckets.length; i++) {
          cumulative += c.buckets[i]!
          const bound = RESP_LATENCY_BUCKETS_US[i]
          values.push({
            metricName: `${RESP_LATENCY_METRIC}_bucket`,
            labels: { command, le: bound === undefined ? '+Inf' : String(bound / 1e6) },
            value: cumulative,
          })
        }
        values.push({
          metricName: `${RESP_LATENCY_METRIC}_sum`,
          labels: { command },
          value: c.sumSeconds,
        })
        values.push({
          metricName: `${RESP_LATENCY_METRIC}_count`,
          labels: { command },
          value: c.calls,
        })
      }
      return { ...base, values }
    },
  }
}
