/**
 * Same-region links: a circulant graph on the region's hash ring.
 *
 * Member at rank i links to ranks i ± o for each offset o of {@link localOffsets}. The
 * relation is symmetric by construction (i links j iff j links i) and every member of a
 * region larger than the clique size has exactly 2h links. Offsets grow by
 * {@link LOCAL_OFFSET_RATIO} (1, 4, 16, ...) so the region's diameter stays near
 * h * n^(1/h) / 2 hops instead of the n / 2h of a plain ring; they are relative ranks, so
 * when a member leaves or joins only the pairs that straddle it change (sum of offsets new
 * links), and the offsets themselves change only when the region's size crosses 2 * 4^k.
 */

/** Ratio between successive circulant offsets (1, 4, 16, 64, ...). */
export const LOCAL_OFFSET_RATIO = 4

/**
 * Offsets on each side of the ring: `max(1, floor(localPeers / 2))`. An odd `localPeers`
 * leaves one link unused in regions above the clique size; `localPeers = 1` still keeps a
 * ring (2 links), the least that keeps a region connected.
 */
export function localHalfDegree(localPeers: number): number {
  return Math.max(1, Math.floor(localPeers / 2))
}

/**
 * Largest region (in members, self included) that is a full clique: `max(localPeers, 2) + 1`.
 */
export function localCliqueSize(localPeers: number): number {
  return Math.max(localPeers, 2) + 1
}

/**
 * The h circulant offsets for a region of `n` members (`n` above the clique size): the
 * powers of {@link LOCAL_OFFSET_RATIO} below n / 2, then the smallest unused integers below
 * n / 2 when n is too small for h powers.
 */
export function localOffsets(n: number, half: number): number[] {
  const out: number[] = []
  for (let o = 1; out.length < half && 2 * o < n; o *= LOCAL_OFFSET_RATIO) out.push(o)
  for (let o = 2; out.length < half && 2 * o < n; o++) if (!out.includes(o)) out.push(o)
  return out
}

/**
 * Ranks of the same-region links of the member at `rank` in a region of `n` members.
 * O(localPeers).
 *
 * @param rank - the member's rank on its region's ring
 * @param n - members in the region
 * @param localPeers - the bound on same-region links
 */
export function localLinkRanks(rank: number, n: number, localPeers: number): number[] {
  if (n <= localCliqueSize(localPeers)) {
    const all: number[] = []
    for (let r = 0; r < n; r++) if (r !== rank) all.push(r)
    return all
  }
  const out: number[] = []
  for (const o of localOffsets(n, localHalfDegree(localPeers))) {
    out.push((rank + o) % n, (rank - o + n) % n)
  }
  return out
}

/** Upper bound on the same-region links of a member of a region of `n` members. */
export function localDegreeBound(n: number, localPeers: number): number {
  return n <= localCliqueSize(localPeers) ? n - 1 : 2 * localHalfDegree(localPeers)
}
