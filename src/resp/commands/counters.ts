/**
 * Counters: `INCR DECR INCRBY DECRBY`. A counter is its decimal text, written back as a
 * new value with the key's TTL kept (as Redis does). Across nodes it is last writer
 * wins like every write: two nodes incrementing the same key at once can lose an
 * increment (each writes its own sum; the larger version stays). Per node, increments
 * are exact. docs/resp.md says when to use them.
 * @module
 */
import { int64Of } from '../args.js'
import { REDIS_ERRORS, RespError } from '../resp-error.js'
import type { CommandSpec, Session } from '../session.js'
import { bytesOf } from '../value-bytes.js'
import { writeValue } from './writes.js'

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

function counter(sign: 1n | -1n, byArg: boolean, command: string) {
  return async (s: Session, args: Buffer[]): Promise<void> => {
    let by = 1n
    if (byArg) {
      const n = int64Of(args[2]!)
      if (n === undefined) throw new RespError(REDIS_ERRORS.notInteger)
      // DECRBY of INT64_MIN cannot be negated (Redis: "decrement would overflow").
      if (sign < 0n && n === INT64_MIN) throw new RespError('ERR decrement would overflow')
      by = n
    }
    const delta = sign * by
    const t = s.db.resolve(args[1]!)
    const entry = t.space.entry(t.key)
    let current = 0n
    if (entry !== undefined) {
      const n = int64Of(bytesOf(entry.value))
      if (n === undefined) throw new RespError(REDIS_ERRORS.notInteger)
      current = n
    }
    const next = current + delta
    if (next < INT64_MIN || next > INT64_MAX) throw new RespError(REDIS_ERRORS.overflow)
    s.beginWrites()
    const expiresAt =
      entry !== undefined && Number.isFinite(entry.expiresAt) ? entry.expiresAt : undefined
    await writeValue(s, t, Buffer.from(next.toString()), {
      expiresAt,
      tags: entry?.tags,
      command,
    })
    s.out.integer(next)
  }
}

const COUNTER = { group: 'string' } as const
const W = ['write', 'denyoom', 'fast'] as const

/** The counter commands. */
export const COUNTER_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'incr',
    arity: 2,
    flags: W,
    keys: [1, 1, 1],
    ...COUNTER,
    since: '1.0.0',
    summary:
      "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    run: counter(1n, false, 'incr'),
  },
  {
    name: 'decr',
    arity: 2,
    flags: W,
    keys: [1, 1, 1],
    ...COUNTER,
    since: '1.0.0',
    summary:
      "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    run: counter(-1n, false, 'decr'),
  },
  {
    name: 'incrby',
    arity: 3,
    flags: W,
    keys: [1, 1, 1],
    ...COUNTER,
    since: '1.0.0',
    summary:
      "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    run: counter(1n, true, 'incrby'),
  },
  {
    name: 'decrby',
    arity: 3,
    flags: W,
    keys: [1, 1, 1],
    ...COUNTER,
    since: '1.0.0',
    summary:
      "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
    run: counter(-1n, true, 'decrby'),
  },
]
