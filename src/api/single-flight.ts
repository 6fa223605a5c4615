/**
 * Collapses concurrent calls for one key into one: while a call for `key` is in flight,
 * later callers get the same promise. Used by `fetch` so a miss calls `load` once.
 */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>()

  /** Calls in flight now. */
  get size(): number {
    return this.inflight.size
  }

  /** True while a call for `key` is in flight. */
  has(key: string): boolean {
    return this.inflight.has(key)
  }

  /** Runs `fn` for `key` unless a run for `key` is already in flight; shares its result. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key)
    if (running !== undefined) return running
    // Start fn on a later tick so the promise is registered before fn can settle or throw.
    const p = Promise.resolve()
      .then(fn)
      .finally(() => {
        if (this.inflight.get(key) === p) this.inflight.delete(key)
      })
    this.inflight.set(key, p)
    return p
  }
}
