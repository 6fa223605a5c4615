/**
 * When membership closes a connection that is not a link, which peers it dials first, and
 * when it dials a bootstrap peer again: pure rules over ages and counts (membership.ts
 * applies them).
 */

/** What to do with a connection that is not a link of this node's plan. */
export type ExtraConnection = 'grace' | 'close' | 'keep'

/**
 * `ageMs`: how long the connection has not been a link (at most its age). The end that
 * dialled closes it once that is over `graceMs`; the end that accepted keeps it (the dialler wanted it: its plan, computed
 * from the member list it knows, may not agree with ours yet) until `inboundFactor` times
 * as long. Both ends closing meant that while member lists disagreed (a fleet joining)
 * every connection one end wanted and the other did not was cut and dialled again every
 * grace period, each time a Noise handshake at both ends.
 *
 * @param dialledBySelf - asked only when the answer depends on it
 */
export function extraConnection(
  ageMs: number,
  graceMs: number,
  inboundFactor: number,
  dialledBySelf: () => boolean,
): ExtraConnection {
  if (ageMs <= graceMs) return 'grace'
  if (ageMs > graceMs * inboundFactor) return 'close'
  return dialledBySelf() ? 'close' : 'keep'
}

/**
 * The wait before dialling again, after its `failures`-th failed dial, a peer that is no
 * link (a bootstrap address nobody has greeted yet, a member taken for down that the plan
 * left out): `intervalMs`, twice as long each time up to `maxMs`, times 0.5-1.5 (`jitter`
 * in [0, 1)). A hundred nodes started at once against one seed too busy to finish their
 * handshakes in time would otherwise each dial it again every pass, and keep it too busy.
 */
export function bootstrapBackoffMs(
  failures: number,
  intervalMs: number,
  maxMs: number,
  jitter: number,
): number {
  return Math.min(intervalMs * 2 ** (failures - 1), maxMs) * (0.5 + jitter)
}

/**
 * The peers to dial now, `slots` at most: those with the fewest failed dials in a row
 * first, in the given order among equals. A few peers that never answer (a host gone
 * without a reset: each dial hangs until its timeout) must not hold every slot and keep
 * a reachable link, such as a new hub after a failover, waiting behind them.
 */
export function pickDials<T extends { dialFailures?: number }>(wanted: T[], slots: number): T[] {
  if (slots <= 0) return []
  return wanted
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.dialFailures ?? 0) - (b.p.dialFailures ?? 0) || a.i - b.i)
    .slice(0, slots)
    .map((x) => x.p)
}

/**
 * Whether this node dials a link now or leaves it to the peer: of two members whose plans
 * name each other (the link plan is symmetric), the one with the smaller id dials, and the
 * other only once the link has been missing for `waitMs` (the peer's member list may not
 * name it yet, or it is down). Both dialling at once cost two handshakes per link and a
 * second connection to close, in a joining fleet ~25 links per node.
 */
export function dialsNow(
  self: string,
  peer: string,
  missingForMs: number,
  waitMs: number,
): boolean {
  return self < peer || missingForMs >= waitMs
}
