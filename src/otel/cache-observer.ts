import type {
  BatchObservableResult,
  Meter,
  ObservableCounter,
  ObservableUpDownCounter,
} from '@opentelemetry/api'
import type { Cache } from '../api/cache.js'
import { OTEL_NAMES } from './otel-names.js'

const A = OTEL_NAMES.attributes
const M = OTEL_NAMES.metrics

/** Per keyspace, summed over the observed caches. */
interface Sums {
  hits: number
  misses: number
  sets: number
  evictions: number
  entries: number
}

/**
 * The cache metrics of Micrometer's cache binder (`cache.gets`, `cache.puts`,
 * `cache.evictions`, `cache.size`) read from `cache.stats()` when the meter collects:
 * nothing runs per operation. Caches sharing a keyspace name are summed; a closed cache
 * is dropped at the next collection.
 */
export class CacheObserver {
  private readonly caches = new Set<Cache<unknown>>()
  private readonly gets: ObservableCounter
  private readonly puts: ObservableCounter
  private readonly evictions: ObservableCounter
  private readonly size: ObservableUpDownCounter

  constructor(private readonly meter: Meter) {
    this.gets = meter.createObservableCounter(M.gets, {
      unit: '{get}',
      description:
        'Reads (get, and the local read of fetch) by result: hit (a live value) or miss.',
    })
    this.puts = meter.createObservableCounter(M.puts, {
      unit: '{put}',
      description: 'Local writes (set, and the values fetch loaded).',
    })
    this.evictions = meter.createObservableCounter(M.evictions, {
      unit: '{eviction}',
      description: 'Entries the LRU dropped to make room (local only; not deletes or expiries).',
    })
    this.size = meter.createObservableUpDownCounter(M.size, {
      unit: '{entry}',
      description: 'Values held (live, or expired and not yet swept).',
    })
    meter.addBatchObservableCallback(this.collect, this.instruments())
  }

  /** Reports `cache`'s stats from the next collection on. @returns what stops it */
  add(cache: Cache<unknown>): () => void {
    this.caches.add(cache)
    return () => {
      this.caches.delete(cache)
    }
  }

  /** Stops every observation. */
  close(): void {
    this.meter.removeBatchObservableCallback(this.collect, this.instruments())
    this.caches.clear()
  }

  private instruments(): (ObservableCounter | ObservableUpDownCounter)[] {
    return [this.gets, this.puts, this.evictions, this.size]
  }

  private readonly collect = (result: BatchObservableResult): void => {
    const sums = new Map<string, Sums>()
    for (const cache of this.caches) {
      if (cache.isClosed) {
        this.caches.delete(cache)
        continue
      }
      for (const [name, s] of Object.entries(cache.stats().keyspaces)) {
        const sum = sums.get(name) ?? { hits: 0, misses: 0, sets: 0, evictions: 0, entries: 0 }
        sum.hits += s.hits
        sum.misses += s.misses
        sum.sets += s.sets
        sum.evictions += s.evictions
        sum.entries += s.entries
        sums.set(name, sum)
      }
    }
    for (const [name, s] of sums) {
      result.observe(this.gets, s.hits, { [A.name]: name, [A.result]: 'hit' })
      result.observe(this.gets, s.misses, { [A.name]: name, [A.result]: 'miss' })
      result.observe(this.puts, s.sets, { [A.name]: name })
      result.observe(this.evictions, s.evictions, { [A.name]: name })
      result.observe(this.size, s.entries, { [A.name]: name })
    }
  }
}
