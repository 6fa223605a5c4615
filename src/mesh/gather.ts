import type { Clock } from '../clock/clock.js'

/**
 * Sends one request to each target in parallel and resolves once `required` of them
 * answered, with the labels of those that did. Rejects with `makeError(answered)` as soon
 * as that can no longer happen (too many failed) or `timeoutMs` passes. The shared core of
 * quorum acks and quorum reads.
 */
export function gather<T>(
  clock: Pick<Clock, 'after'>,
  targets: readonly T[],
  required: number,
  timeoutMs: number,
  send: (target: T) => Promise<string>,
  onFailure: (target: T) => void,
  makeError: (answered: string[]) => Error,
): Promise<string[]> {
  const answered: string[] = []
  if (required <= 0) return Promise.resolve([])
  return new Promise((resolve, reject) => {
    let pending = targets.length
    let done = false
    const finish = (ok: boolean) => {
      if (done) return
      done = true
      timer.cancel()
      // A copy: answers that arrive later must not change what the caller received.
      if (ok) resolve([...answered])
      else reject(makeError([...answered]))
    }
    const timer = clock.after(timeoutMs, () => finish(false))
    if (pending < required) {
      finish(false)
      return
    }
    for (const target of targets) {
      send(target)
        .then((label) => {
          if (done) return
          answered.push(label)
          if (answered.length >= required) finish(true)
        })
        .catch(() => onFailure(target))
        .finally(() => {
          pending--
          // Give up as soon as the targets still out cannot make up the shortfall.
          if (answered.length + pending < required) finish(false)
        })
    }
  })
}
