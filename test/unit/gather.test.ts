import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SystemClock } from '../../src/clock/clock.js'
import { gather } from '../../src/mesh/gather.js'

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

class QuorumError extends Error {
  constructor(readonly answered: string[]) {
    super(`got ${answered.length}`)
  }
}

/**
 * Targets whose answers the test controls: `send(t)` returns the pending promise of `t`,
 * answered with `answer(t)` (label `t!`) or failed with `fail(t)`.
 */
function harness(targets: string[]) {
  const calls = new Map(targets.map((t) => [t, deferred<string>()]))
  const send = vi.fn((t: string) => calls.get(t)!.promise)
  const onFailure = vi.fn((_t: string) => undefined)
  const makeError = vi.fn((answered: string[]) => new QuorumError(answered))
  return {
    send,
    onFailure,
    makeError,
    answer: (t: string) => calls.get(t)!.resolve(`${t}!`),
    fail: (t: string) => calls.get(t)!.reject(new Error(`${t} down`)),
    run: (required: number, timeoutMs = 1_000) =>
      gather(new SystemClock(), targets, required, timeoutMs, send, onFailure, makeError),
  }
}

/** Lets every queued promise callback run (fake timers do not advance). */
const flush = () => vi.advanceTimersByTimeAsync(0)

/** The settled state of `p` now, without waiting for it. */
async function stateOf<T>(p: Promise<T>): Promise<'pending' | 'resolved' | 'rejected'> {
  const pending = Symbol('pending')
  try {
    return (await Promise.race([p, Promise.resolve(pending)])) === pending ? 'pending' : 'resolved'
  } catch {
    return 'rejected'
  }
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('gather', () => {
  it('sends to every target at once, before any answer', () => {
    const h = harness(['a', 'b', 'c'])
    void h.run(2)
    expect(h.send.mock.calls.map(([t]) => t)).toEqual(['a', 'b', 'c'])
  })

  it('resolves as soon as `required` answered, without waiting for the rest or the timeout', async () => {
    const h = harness(['a', 'b', 'c'])
    const p = h.run(2)
    h.answer('b')
    await flush()
    expect(await stateOf(p)).toBe('pending')
    h.answer('a')
    await flush()
    expect(await stateOf(p)).toBe('resolved')
    expect(await p).toEqual(['b!', 'a!'])
    expect(h.makeError).not.toHaveBeenCalled()
    // 'c' never answered, the timeout never fired: nothing is left scheduled.
    expect(vi.getTimerCount()).toBe(0)
  })

  it('calls onFailure for each failing target and keeps going with the others', async () => {
    const h = harness(['a', 'b', 'c', 'd'])
    const p = h.run(2)
    h.fail('a')
    h.fail('c')
    await flush()
    expect(h.onFailure.mock.calls.map(([t]) => t).sort()).toEqual(['a', 'c'])
    expect(await stateOf(p)).toBe('pending')
    h.answer('d')
    h.answer('b')
    await expect(p).resolves.toEqual(['d!', 'b!'])
    expect(h.onFailure).toHaveBeenCalledTimes(2)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('still reports failures that come in after it resolved', async () => {
    const h = harness(['a', 'b'])
    const p = h.run(1)
    h.answer('a')
    await expect(p).resolves.toEqual(['a!'])
    h.fail('b')
    await flush()
    expect(h.onFailure).toHaveBeenCalledWith('b')
  })

  it('rejects with the error of makeError(answered) when too few answer within the timeout', async () => {
    const h = harness(['a', 'b', 'c'])
    const p = h.run(2, 1_000)
    const settled = p.catch((e: unknown) => e)
    h.answer('c')
    await vi.advanceTimersByTimeAsync(999)
    expect(await stateOf(p)).toBe('pending')
    await vi.advanceTimersByTimeAsync(1)
    const err = await settled
    expect(err).toBeInstanceOf(QuorumError)
    expect(h.makeError).toHaveBeenCalledTimes(1)
    expect(err).toBe(h.makeError.mock.results[0]!.value)
    expect((err as QuorumError).answered).toEqual(['c!'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('hands makeError a snapshot: answers after the timeout do not change it', async () => {
    const h = harness(['a', 'b'])
    const p = h.run(2, 100)
    const settled = p.catch((e: unknown) => e)
    h.answer('a')
    await vi.advanceTimersByTimeAsync(100)
    const err = (await settled) as QuorumError
    h.answer('b')
    await flush()
    expect(err.answered).toEqual(['a!'])
    expect(h.makeError).toHaveBeenCalledTimes(1)
  })

  it('rejects without waiting for the timeout when every target fails', async () => {
    const h = harness(['a', 'b', 'c'])
    const p = h.run(1, 60_000)
    const settled = p.catch((e: unknown) => e)
    h.fail('a')
    h.fail('b')
    h.fail('c')
    await flush()
    const err = await settled
    expect(err).toBeInstanceOf(QuorumError)
    expect((err as QuorumError).answered).toEqual([])
    expect(h.onFailure.mock.calls.map(([t]) => t).sort()).toEqual(['a', 'b', 'c'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects once every target settled with fewer than `required` answers', async () => {
    const h = harness(['a', 'b', 'c'])
    const p = h.run(3, 60_000)
    const settled = p.catch((e: unknown) => e)
    h.answer('a')
    h.fail('b')
    h.answer('c')
    await flush()
    expect(((await settled) as QuorumError).answered).toEqual(['a!', 'c!'])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('rejects at once, sending nothing, with no targets or fewer targets than required', async () => {
    for (const [targets, required] of [
      [[], 1],
      [['a', 'b'], 3],
    ] as const) {
      const h = harness([...targets])
      const err = await h.run(required, 60_000).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(QuorumError)
      expect((err as QuorumError).answered).toEqual([])
      expect(h.send).not.toHaveBeenCalled()
      expect(vi.getTimerCount()).toBe(0)
    }
  })

  it('with required 0, resolves at once and sends nothing', async () => {
    const h = harness(['a', 'b'])
    await expect(h.run(0, 60_000)).resolves.toEqual([])
    expect(h.send).not.toHaveBeenCalled()
    expect(h.makeError).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(0)
  })

  // Bugs these tests found (each failed before gather.ts was fixed).

  it('with required 0 and no targets it resolves at once', async () => {
    const h = harness([])
    const p = h.run(0, 60_000)
    await flush()
    expect(await stateOf(p)).toBe('resolved')
  })

  it('rejects as soon as `required` can no longer be reached', async () => {
    const h = harness(['a', 'b', 'c'])
    const p = h.run(2, 60_000)
    p.catch(() => undefined)
    h.fail('a')
    h.fail('b')
    await flush()
    // 'c' still pending: 2 answers are impossible now, the doc says reject right away.
    expect(await stateOf(p)).toBe('rejected')
  })

  it('the resolved list does not grow when late answers come in', async () => {
    const h = harness(['a', 'b'])
    const p = h.run(1)
    h.answer('a')
    const answered = await p
    h.answer('b')
    await flush()
    expect(answered).toEqual(['a!'])
  })
})
