/**
 * Unknown names are refused, never ignored: `PUT /v1/ks/k?tll=5` answered 200 and stored
 * with the default TTL (issue 22). Each route declares the query parameters it reads (any
 * other is a 400 `ERR_INVALID_OPTION`), and bulk bodies the fields they read (any other
 * is a 400 `ERR_BAD_BODY`); both messages name the known ones and the nearest.
 * @module
 */
import { badBody, invalidOption } from './http-errors.js'
import type { Query } from './params.js'

/**
 * Throws when `query` names a parameter outside `known`.
 * @param where - the route, as the message names it (`PUT /v1/{ks}/{key}`)
 * @throws HttpError 400 `ERR_INVALID_OPTION`
 */
export function checkQueryNames(
  query: Query | undefined,
  known: readonly string[],
  where: string,
): void {
  if (query === undefined) return
  for (const name in query) {
    if (!known.includes(name)) throw unknownParameter(name, known, where)
  }
}

function unknownParameter(name: string, known: readonly string[], where: string) {
  const takes = known.length === 0 ? 'takes no query parameters' : `takes ${known.join(', ')}`
  return invalidOption(
    `unknown query parameter '${printable(name)}'${didYouMean(name, known)}; ${where} ${takes}`,
  )
}

/**
 * Throws when the JSON object `body` has a field outside `known`.
 * @param what - the object, as the message names it (`the :mset body`, `entries[3]`)
 * @throws HttpError 400 `ERR_BAD_BODY`
 */
export function checkFields(
  body: Readonly<Record<string, unknown>>,
  known: readonly string[],
  what: string,
): void {
  for (const name of Object.keys(body)) {
    if (!known.includes(name)) {
      throw badBody(
        `unknown field '${printable(name)}' in ${what}${didYouMean(name, known)}; known fields: ${known.join(', ')}`,
      )
    }
  }
}

function didYouMean(name: string, known: readonly string[]): string {
  const near = closestName(name, known)
  return near === undefined ? '' : ` (did you mean '${near}'?)`
}

/** A client's text in a message: short, and no control characters. */
function printable(text: string): string {
  const clean = text.replaceAll(/[^\x20-\x7e]/g, '?')
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean
}

/**
 * The known name nearest `name`, when near enough to be a typo: an edit distance of at
 * most 2 (or a third of the name), case ignored, or a prefix of it.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3))
  if (best !== undefined && (bestDistance <= limit || lower.startsWith(best.toLowerCase()))) {
    return best
  }
  return undefined
}

/** Levenshtein distance where swapping two neighbours counts 1 (optimal string alignment). */
function editDistance(a: string, b: string): number {
  // Names here are short (query parameters); longer input is cut to bound the work.
  const s = a.slice(0, 64)
  const t = b.slice(0, 64)
  const rows: number[][] = [Array.from({ length: t.length + 1 }, (_, j) => j)]
  for (let i = 1; i <= s.length; i++) {
    const row = [i]
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      }
      row.push(d)
    }
    rows.push(row)
  }
  return rows[s.length]![t.length]!
}
