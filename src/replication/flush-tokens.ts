/**
 * Pacing of flushes (a publisher's batches, a relay link's frames) by tokens: one comes
 * back every `intervalMs`, up to `burst` in reserve; a flush takes one. A flush that finds
 * a token goes at once, so a trickle is never delayed; under load flushes come one per
 * interval and what waits meanwhile leaves together. Pure: the caller passes its
 * monotonic time and the pacing (which may change, e.g. when a peer's region is learnt).
 */
export class FlushTokens {
  private tokens: number
  private at: number

  /**
   * @param now - the caller's monotonic ms
   * @param burst - tokens at the start (a fresh link or publisher may flush at once)
   */
  constructor(now: number, burst: number) {
    this.tokens = burst
    this.at = now
  }

  /**
   * How long a flush must wait for a token, ms (0: one is there).
   * @param intervalMs - one token per this many ms (0 or less: no pacing)
   * @param burst - most tokens kept in reserve (at least 1)
   */
  waitMs(now: number, intervalMs: number, burst: number): number {
    this.refill(now, intervalMs, burst)
    return this.tokens >= 1 ? 0 : (1 - this.tokens) * intervalMs
  }

  /**
   * A flush happens now: it takes a token. One made without a token (an urgent one, or
   * a timer that fired a hair early) leaves the balance at 0, so the next flush waits one
   * interval, not more.
   */
  take(now: number, intervalMs: number, burst: number): void {
    this.refill(now, intervalMs, burst)
    this.tokens = Math.max(0, this.tokens - 1)
  }

  private refill(now: number, intervalMs: number, burst: number): void {
    const earned = intervalMs > 0 ? (now - this.at) / intervalMs : burst
    this.tokens = Math.min(burst, this.tokens + Math.max(0, earned))
    this.at = now
  }
}
