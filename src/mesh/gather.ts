/**
 * Sends one request to each target in parallel and resolves once `required` of them
 * answered, with the labels of those that did. Rejects with `makeError(answered)` as soon
 * as that can no longer happen (too many failed) or `timeoutMs` passes. The shared core of
 * quorum acks and quorum reads.
 */
export function gather<T>(
  targets: readonly T[],
  required: number,
  timeoutMs: number,
  send: (target: T) => Promise<string>,
  onFailure: (target: T) => void,
  makeError: (answered: string[]) => Error,
): Promise<string[]> {
  const answered: string[] = []
  return new Promise((resolve, reject) => {
    let pending = targets.length
    let done = false
    const finish = (ok: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (ok) resolve(answered)
      else reject(makeError([...answered]))
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    if (pending < required) {
      finish(false)
      return
    }
    for (const target of targets) {
      send(target)
        .then((label) => {
          answered.push(label)
          if (answered.length >= required) finish(true)
        })
        .catch(() => onFailure(target))
        .finally(() => {
          if (--pending === 0) finish(answered.length >= required)
        })
    }
  })
}
