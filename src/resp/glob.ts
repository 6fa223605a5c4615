/**
 * Redis's glob patterns (`KEYS`, `SCAN MATCH`) on bytes: `*` any run, `?` one byte,
 * `[abc]`, `[^a-z]` (ranges in either order), `\x` a literal. Runs in O(pattern x key)
 * time whatever the pattern (one backtrack point per `*`, the classic wildcard
 * algorithm), so a hostile pattern cannot stall the node.
 * @module
 */

/** Matches one pattern element at `p` against byte `c`. @returns the index after the element, or -1 */
function matchOne(pattern: Uint8Array, p: number, c: number): number {
  const pc = pattern[p]!
  if (pc === 63) return p + 1 // ?
  if (pc === 92 && p + 1 < pattern.length) return pattern[p + 1] === c ? p + 2 : -1
  if (pc !== 91) return pc === c ? p + 1 : -1 // not [
  let i = p + 1
  const negate = pattern[i] === 94 // ^
  if (negate) i++
  let hit = false
  for (;;) {
    if (i >= pattern.length) {
      // An unclosed class: Redis treats the end of the pattern as its end.
      break
    }
    const x = pattern[i]!
    if (x === 93) {
      i++
      break
    }
    if (x === 92 && i + 1 < pattern.length) {
      if (pattern[i + 1] === c) hit = true
      i += 2
    } else if (pattern[i + 1] === 45 && i + 2 < pattern.length) {
      let lo = x
      let hi = pattern[i + 2]!
      if (lo > hi) [lo, hi] = [hi, lo]
      if (c >= lo && c <= hi) hit = true
      i += 3
    } else {
      if (x === c) hit = true
      i++
    }
  }
  return hit !== negate ? i : -1
}

/** True when `key` matches the glob `pattern` (both bytes). */
export function globMatch(pattern: Uint8Array, key: Uint8Array): boolean {
  let p = 0
  let k = 0
  let starP = -1
  let starK = 0
  while (k < key.length) {
    if (p < pattern.length && pattern[p] === 42) {
      while (p < pattern.length && pattern[p] === 42) p++
      if (p === pattern.length) return true
      starP = p
      starK = k
      continue
    }
    const next = p < pattern.length ? matchOne(pattern, p, key[k]!) : -1
    if (next !== -1) {
      p = next
      k++
    } else if (starP !== -1) {
      p = starP
      k = ++starK
    } else {
      return false
    }
  }
  while (p < pattern.length && pattern[p] === 42) p++
  return p === pattern.length
}

/** True when the pattern matches every key (`*`): the filter can be skipped. */
export function matchesAll(pattern: Uint8Array): boolean {
  for (const b of pattern) if (b !== 42) return false
  return pattern.length > 0
}
