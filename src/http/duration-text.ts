/**
 * Durations as text, the way the HTTP API and the `meshcache` command take them: a
 * string with a unit (`500ms`, `30s`, `5m`, `1h`, `1d`) or a bare number of **seconds**
 * (Redis `EX`). Embedded callers keep the library's convention (a bare number is ms).
 * @module
 */
import { isDurationText, parseDuration } from '../duration.js'
import { InvalidOptionError } from '../errors.js'

const SECONDS_RE = /^\s*\d+(\.\d+)?\s*$/

/**
 * A duration text in ms: a bare number is seconds, otherwise a number with a unit.
 * @param name - the parameter or flag, named in the error
 * @throws InvalidOptionError when the text is neither
 */
export function secondsOrDuration(text: string, name: string): number {
  if (SECONDS_RE.test(text)) {
    const ms = Number(text) * 1_000
    // Whole ms, as the library's durations: above 0 must not round to 0 (0 turns options off).
    if (ms > 0 && Math.round(ms) === 0) {
      throw new InvalidOptionError(
        `${name} must be 0 or at least 1 ms (durations are whole ms), got '${text}'`,
      )
    }
    return Math.round(ms)
  }
  if (!isDurationText(text)) {
    throw new InvalidOptionError(
      `${name} must be a duration like '500ms', '30s', '5m', '1h' or a number of seconds, got '${text}'`,
    )
  }
  return parseDuration(text, name)
}

const UNITS: readonly [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
]

/** A duration in ms as the shortest exact text: 86400000 is `1d`, 90000 `90s`, 1500 `1500ms`. */
export function formatMs(ms: number): string {
  for (const [unit, size] of UNITS) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}
