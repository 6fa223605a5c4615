/**
 * Latency of HTTP requests: a prom-client `Histogram` observed once per answered request,
 * labelled by route pattern (bounded: the registered paths, `none` for unmatched ones),
 * method and status class.
 * @module
 */
import { Histogram, type Registry } from 'prom-client'

/** Name of the request latency histogram. */
export const HTTP_LATENCY_METRIC = 'meshcache_http_request_duration_seconds'

/** Bucket bounds, seconds: 100 us to 10 s (lease waits and acks can take seconds). */
export const HTTP_LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const

/** Records one answered request. */
export type ObserveRequest = (
  route: string,
  method: string,
  status: number,
  seconds: number,
) => void

/** Adds the latency histogram to `registry`; returns the function that feeds it. */
export function httpLatency(registry: Registry): ObserveRequest {
  const histogram = new Histogram({
    name: HTTP_LATENCY_METRIC,
    help: 'HTTP API request latency, seconds, by route, method and status class.',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: [...HTTP_LATENCY_BUCKETS],
    registers: [registry],
  })
  // prom-client hashes the labels of every observation; the label set is found here by
  // two map lookups and an index instead of building a key string per request.
  type Child = { observe(v: number): void }
  const children = new Map<string, Map<string, Child[]>>()
  return (route, method, status, seconds) => {
    let byMethod = children.get(route)
    if (byMethod === undefined) {
      byMethod = new Map()
      children.set(route, byMethod)
    }
    let byClass = byMethod.get(method)
    if (byClass === undefined) {
      byClass = []
      byMethod.set(method, byClass)
    }
    const cls = Math.min(5, Math.max(1, Math.floor(status / 100)))
    let child = byClass[cls]
    if (child === undefined) {
      child = histogram.labels({ route, method, status_class: `${cls}xx` })
      byClass[cls] = child
    }
    child.observe(seconds)
  }
}
