/**
 * Time read once per synchronous turn of the event loop.
 *
 * A clock read costs ~35-47 ns on the machines we measured (about half of an lru-cache
 * hit, a fifth of its set), so the API's reads and writes share one reading of the node's
 * clock (the host's plus the mesh's correction) per turn ({@link TurnReading};
 * `SystemClock.turnNow` and `writeNow`). Every call in one synchronous block sees the same instant,
 * as if it ran at the block's start, except that writes take a new reading after every
 * {@link WRITES_PER_READING} of them, so that a long block's writes are stamped and
 * expire close to when they were made. A read never takes a new reading within its turn:
 * a value written is there for every read after it in the same block, whatever its TTL.
 * An entry can thus be served past its expiry only within the synchronous block in which
 * it expired, a span during which the process does no I/O. The purge sweep reads the real
 * clock. Figures: docs/decisions/store.md and set-path.md.
 */

/** Writes one reading serves before a write takes a new one (see {@link TurnReading}). */
export const WRITES_PER_READING = 64

/** Settles once: `then` on it runs at the next microtask checkpoint (fake timers cannot hold it). */
const SETTLED = Promise.resolve()

/**
 * A time source read at most once per synchronous turn by reads ({@link read}), and once
 * per turn or per {@link WRITES_PER_READING} writes by writes ({@link readForWrite}). The
 * reading is dropped at the next microtask checkpoint (a resolved promise's `then`, which
 * test runners' fake timers leave alone, unlike `queueMicrotask`).
 */
export class TurnReading {
  readonly #source: () => number
  #value = 0
  #valid = false
  #writes = 0
  readonly #invalidate = () => {
    this.#valid = false
  }

  constructor(source: () => number = Date.now) {
    this.#source = source
  }

  /** The turn's reading (taken now when this is its first use in the turn). Bound: pass it around. */
  readonly read = (): number => (this.#valid ? this.#value : this.#take())

  /** The turn's reading, taken again when it has served {@link WRITES_PER_READING} writes. Bound. */
  readonly readForWrite = (): number =>
    !this.#valid || ++this.#writes > WRITES_PER_READING ? this.#take() : this.#value

  #take(): number {
    this.#value = this.#source()
    this.#writes = 0
    if (!this.#valid) {
      this.#valid = true
      void SETTLED.then(this.#invalidate)
    }
    return this.#value
  }
}

/** `source` read at most once per synchronous turn ({@link TurnReading.read}). */
export function turnClock(source: () => number = Date.now): () => number {
  return new TurnReading(source).read
}
