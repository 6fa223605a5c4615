/**
 * A write's version: a hybrid logical clock stamp plus the origin node id as tiebreak.
 * Versions are totally ordered; the larger one wins everywhere (last-writer-wins).
 */
export interface Version {
  /** Physical component: wall-clock ms since the epoch (the largest seen, never behind). */
  readonly wall: number
  /** Logical counter that orders events within one `wall` ms. */
  readonly logical: number
  /** Id of the node that made the write; breaks ties between equal stamps. */
  readonly node: string
}

/**
 * Total order on versions: by `wall`, then `logical`, then `node` (code-unit order).
 * @returns negative when `a` is older, positive when newer, 0 when identical
 */
export function compareVersions(a: Version, b: Version): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1
  if (a.node === b.node) return 0
  return a.node < b.node ? -1 : 1
}

/** Formats a version compactly, e.g. for HTTP headers and read-your-writes tokens. */
export function formatVersion(v: Version): string {
  return `${v.wall.toString(36)}.${v.logical.toString(36)}.${v.node}`
}

/**
 * Parses {@link formatVersion}'s output.
 * @returns the version, or `undefined` when the text is not a version
 */
export function parseVersion(text: string): Version | undefined {
  const first = text.indexOf('.')
  const second = text.indexOf('.', first + 1)
  if (first <= 0 || second <= first + 1 || second === text.length - 1) return undefined
  const wall = Number.parseInt(text.slice(0, first), 36)
  const logical = Number.parseInt(text.slice(first + 1, second), 36)
  if (!Number.isSafeInteger(wall) || !Number.isSafeInteger(logical) || wall < 0 || logical < 0) {
    return undefined
  }
  return { wall, logical, node: text.slice(second + 1) }
}
