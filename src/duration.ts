import { InvalidOptionError, shown } from './errors.js'

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'5s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | string

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/

/** Whether `text` is written as a duration string (`'5m'`, `'1.5s'`, `'300'`), whatever its size. */
export function isDurationText(text: string): boolean {
  return DURATION_RE.test(text)
}

/**
 * Turns a {@link Duration} into milliseconds.
 * @param value - ms number or duration string; a bare numeric string is ms
 * @param name - the option's name, used in the error message
 * @returns a non-negative whole number of ms (a fraction is rounded)
 * @throws InvalidOptionError when the value is negative, not finite or unparseable
 */
export function parseDuration(value: Duration, name: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidOptionError(
        `${name} must be a non-negative number of ms or a duration like '5m', got ${String(value)}`,
      )
    }
    // Whole ms, as a string's are: times on the wire are whole ms, and peers refuse a
    // fraction (an expiry made from a TTL of 1500.5 ms would not replicate).
    return wholeMs(value, value, name)
  }
  if (typeof value === 'string') {
    const m = DURATION_RE.exec(value)
    if (m) {
      return wholeMs(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!, value, name)
    }
  }
  throw new InvalidOptionError(
    `${name} must be ms or a duration string like '500ms', '5s', '5m', '1h', '1d', got ${shown(value)}`,
  )
}

/**
 * `ms` rounded to whole ms; a duration above 0 that would round to 0 is refused (0 turns
 * some options off: half a millisecond must not).
 */
function wholeMs(ms: number, given: Duration, name: string): number {
  const whole = Math.round(ms)
  if (whole === 0 && ms > 0) {
    throw new InvalidOptionError(
      `${name} must be 0 or at least 1 ms (durations are whole ms), got ${shown(given)}`,
    )
  }
  return whole
}
