/**
 * The one source of time of a node: wall time (corrected to the mesh), monotonic time and
 * timers. The composition root builds one and passes it down; nothing else reads
 * `Date.now()`/`performance.now()` or sets raw timers, so a test drives a whole node with
 * a {@link ManualClock} instead of patching globals.
 * @module
 */

/** A scheduled callback; {@link Timer.cancel} is idempotent. */
export interface Timer {
  cancel(): void
}

/** Time and timers, as a node sees them. */
export interface Clock {
  /** Wall-clock ms since the epoch, whole, corrected to the mesh's clock (the host's in an embedded cache). */
  now(): number
  /** The host's own wall clock, whole ms, uncorrected: only clock exchanges with peers read it. */
  hostNow(): number
  /** Monotonic ms (durations and deadlines): never jumps when the wall clock is set. */
  monotonic(): number
  /**
   * Calls `fn` once, `ms` from now. A node's timers never keep the process alive, unless
   * `keepAlive`: for a wait that a caller's promise depends on (a `close()`), whose code
   * after it must run; cancel it when the wait ends early.
   */
  after(ms: number, fn: () => void, keepAlive?: boolean): Timer
  /** Calls `fn` every `ms`. A node's clock never keeps the process alive. */
  every(ms: number, fn: () => void): Timer
  /**
   * Resolves `ms` from now, keeping the process alive meanwhile: only a caller's promise
   * awaits a sleep (a poll, a linger), and its code after the `await` must run.
   */
  sleep(ms: number): Promise<void>
  /** Calls `fn` at the end of this turn of the event loop (after its I/O callbacks). */
  soon(fn: () => void): void
}

/**
 * Waits for `work`, at most `ms` of `clock`. The bound keeps the process alive (a
 * caller's code after the wait must run, whatever else is left) and is cancelled when
 * `work` ends first (nor may it hold the process that long after). `work`'s rejection is
 * the caller's to see.
 */
export async function within(clock: Clock, work: Promise<unknown>, ms: number): Promise<void> {
  let timer: Timer | undefined
  const bound = new Promise<void>((resolve) => {
    timer = clock.after(ms, resolve, true)
  })
  try {
    await Promise.race([work, bound])
  } finally {
    timer?.cancel()
  }
}

/** The longest delay a Node timer takes (2^31 - 1 ms); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Options of {@link SystemClock}. */
export interface SystemClockOptions {
  /** Ms to add to the host's wall clock, read at every `now()` (the node's offset to the mesh median). @default 0 */
  correction?: () => number
  /** The host's wall clock, ms (a skewed host in `meshcache/testing`). @default Date.now */
  host?: () => number
  /**
   * Timers keep the process alive: for a harness whose waits are what the process is
   * doing (`meshcache/testing` waiting for its mesh), never for a node. @default false
   */
  keepAlive?: boolean
}

/**
 * The system's clock: `Date.now()` plus a correction (the node's clock offset to the mesh
 * median, 0 when embedded), `performance.now()`, and Node timers, unref'd unless
 * `keepAlive`.
 */
export class SystemClock implements Clock {
  readonly #correction: () => number
  readonly #host: () => number
  readonly #keepAlive: boolean

  constructor(options: SystemClockOptions = {}) {
    this.#correction = options.correction ?? (() => 0)
    this.#host = options.host ?? Date.now
    this.#keepAlive = options.keepAlive ?? false
  }

  now(): number {
    return this.#host() + this.#correction()
  }

  hostNow(): number {
    return this.#host()
  }

  monotonic(): number {
    return performance.now()
  }

  after(ms: number, fn: () => void, keepAlive = false): Timer {
    // Node fires a delay over 2^31 - 1 ms (~24.8 days: a 30-day TTL's expiry, a long
    // snapshot interval) after 1 ms, with a warning: such a wait is made of legs.
    const due = performance.now() + Math.max(0, ms)
    let t: NodeJS.Timeout
    const arm = (left: number) => {
      t = setTimeout(
        left > MAX_TIMER_MS ? () => arm(due - performance.now()) : fn,
        Math.min(Math.max(0, left), MAX_TIMER_MS),
      )
      if (!this.#keepAlive && !keepAlive) t.unref()
    }
    arm(due - performance.now())
    return { cancel: () => clearTimeout(t) }
  }

  every(ms: number, fn: () => void): Timer {
    if (ms > MAX_TIMER_MS) {
      // Longer than a Node timer can wait: one long wait after another.
      let timer: Timer
      let cancelled = false
      const next = () => {
        timer = this.after(ms, () => {
          if (cancelled) return
          next()
          fn()
        })
      }
      next()
      return {
        cancel: () => {
          cancelled = true
          timer.cancel()
        },
      }
    }
    const t = setInterval(fn, Math.max(1, ms))
    if (!this.#keepAlive) t.unref()
    return { cancel: () => clearInterval(t) }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve, true))
  }

  soon(fn: () => void): void {
    setImmediate(fn)
  }
}

interface Job {
  period: number
  fn: () => void
  cancelled: boolean
}

interface Scheduled {
  at: number
  job: Job
}

/**
 * A clock that moves only when told ({@link advance}): for tests of timing rules (what
 * wakes when) and of expiry, without patching `Date`. `now()` (whole ms, floored) and
 * `monotonic()` move together; `hostNow()` is `now()` minus the correction.
 */
export class ManualClock implements Clock {
  #now: number
  #mono = 0
  #queue: Scheduled[] = []
  /** Ms added to the host clock by `now()` (a skewed host in tests). */
  correctionMs = 0
  /** Timer callbacks run so far (wake-ups). */
  fired = 0

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs
  }

  // Whole ms, as `Date.now()` gives: a timer due at a fractional monotonic time (a jittered
  // period) must not make stamps and send times fractional, which peers refuse.
  now(): number {
    return Math.floor(this.#now) + this.correctionMs
  }

  hostNow(): number {
    return Math.floor(this.#now)
  }

  monotonic(): number {
    return this.#mono
  }

  after(ms: number, fn: () => void): Timer {
    return this.#schedule(ms, 0, fn)
  }

  every(ms: number, fn: () => void): Timer {
    return this.#schedule(ms, Math.max(1, ms), fn)
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve))
  }

  soon(fn: () => void): void {
    this.after(0, fn)
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.#queue.filter((s) => !s.job.cancelled).length
  }

  /** When the next timer fires (monotonic ms), or undefined when none is scheduled. */
  get nextAt(): number | undefined {
    return this.#queue.find((s) => !s.job.cancelled)?.at
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#mono + ms
    for (;;) {
      this.#queue = this.#queue.filter((s) => !s.job.cancelled)
      const next = this.#queue[0]
      if (next === undefined || next.at > end) break
      this.#queue.shift()
      this.#now += next.at - this.#mono
      this.#mono = next.at
      if (next.job.period > 0) this.#insert({ at: next.at + next.job.period, job: next.job })
      this.fired++
      next.job.fn()
    }
    this.#now += end - this.#mono
    this.#mono = end
  }

  #schedule(ms: number, period: number, fn: () => void): Timer {
    const job: Job = { period, fn, cancelled: false }
    this.#insert({ at: this.#mono + Math.max(0, ms), job })
    return {
      cancel: () => {
        job.cancelled = true
      },
    }
  }

  #insert(s: Scheduled): void {
    let i = this.#queue.length
    while (i > 0 && this.#queue[i - 1]!.at > s.at) i--
    this.#queue.splice(i, 0, s)
  }
}
