import { InvalidOptionError } from './errors.js'

/**
 * Refuses an options object with a name outside `known`: a misspelt option is an error,
 * never a silently ignored default.
 * @param what - whose options, named in the message (e.g. `'set'`, `'mesh'`; `''` for none)
 * @throws InvalidOptionError naming the unknown option, the closest known one and all
 *   known ones; also when `options` is not an object
 */
export function checkOptionNames(options: unknown, known: ReadonlySet<string>, what: string): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new InvalidOptionError(`${what} options must be an object, got ${describe(options)}`)
  for (const name in options) {
    if (!known.has(name)) throw unknownOption(name, known, what)
  }
}

/** The error for an unknown option `name`. */
export function unknownOption(
  name: string,
  known: Iterable<string>,
  what: string,
): InvalidOptionError {
  const names = [...known]
  const near = closest(name, names)
  return new InvalidOptionError(
    `unknown ${what === '' ? '' : `${what} `}option '${name}'${near === undefined ? '' : ` (did you mean '${near}'?)`}; known options: ${names.join(', ')}`,
  )
}

/** The known name nearest `name` by edit distance, when near enough to be a typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  const lower = name.toLowerCase()
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  // A typo changes a few characters; a prefix ('load' for 'loader') is one too.
  const limit = Math.max(2, Math.floor(name.length / 3))
  if (best !== undefined && (bestDistance <= limit || name.startsWith(best))) return best
  return undefined
}

/** Levenshtein distance (optimal string alignment: a swap of neighbours counts 1). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = []
  for (let i = 0; i <= a.length; i++) {
    rows.push([i])
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]!.push(j)
        continue
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      rows[i]!.push(d)
    }
  }
  return rows[a.length]![b.length]!
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v
}
