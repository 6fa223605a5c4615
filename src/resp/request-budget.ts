/**
 * The memory that requests partly received may hold, across all connections of a
 * listener. Each connection's request is bounded (`maxRequestBytes`), but a listener
 * takes 10,000 connections: without a bound across them, a few hundred clients that
 * never finish a request exhaust the heap. What Redis bounds with `maxmemory-clients`,
 * and like Redis, when the budget is short the client holding the most is closed: the
 * one asking, or the largest other one, so that clients hoarding the budget cannot
 * starve small requests. Clients that have not authenticated go first: whatever they
 * hold, an authenticated client's request closes them before any authenticated one, so
 * clients without the password cannot get those with it closed.
 * @module
 */

/** What a connection holds of the budget, and how to take it back. */
export interface BudgetAccount {
  /** Bytes held now. */
  readonly held: number
  /**
   * Takes `n` more bytes; when the budget is short, closes the largest other holder(s)
   * that hold more than this account would.
   * @returns false when room cannot be made: this account would hold the most
   */
  take(n: number): boolean
  /** Gives back everything held (the request completed, or the connection closed). */
  release(): void
}

class Account implements BudgetAccount {
  held = 0
  readonly #budget: RequestBudget
  /** Closes the connection. */
  readonly evict: () => void
  /** Whether the connection has authenticated (or needs no password). */
  readonly trusted: () => boolean

  constructor(budget: RequestBudget, evict: () => void, trusted: () => boolean) {
    this.#budget = budget
    this.evict = evict
    this.trusted = trusted
  }

  take(n: number): boolean {
    return this.#budget.take(this, n)
  }

  release(): void {
    this.#budget.release(this)
  }
}

/** The budget of a listener's partly received requests. */
export class RequestBudget {
  /** Most bytes held at once. */
  readonly max: number
  #used = 0
  /** Accounts that hold bytes now. */
  readonly #holders = new Set<Account>()

  constructor(max: number) {
    this.max = max
  }

  /** Bytes held now, across connections. */
  get used(): number {
    return this.#used
  }

  /**
   * An account for one connection.
   * @param evict - closes the connection (which then releases the account): called when
   *   another connection needs the room and this one holds the most
   * @param trusted - whether the connection has authenticated (or the listener has no
   *   password): untrusted holders are closed first for a trusted one's request
   */
  open(evict: () => void, trusted: () => boolean = () => true): BudgetAccount {
    return new Account(this, evict, trusted)
  }

  /** @internal through {@link BudgetAccount.take} */
  take(account: Account, n: number): boolean {
    const trusted = account.trusted()
    while (this.#used + n > this.max) {
      let largest: Account | undefined
      let untrusted: Account | undefined
      for (const a of this.#holders) {
        if (a === account) continue
        // A client without the password never closes one with it.
        if (!trusted && a.trusted()) continue
        if (largest === undefined || a.held > largest.held) largest = a
        if (trusted && (untrusted === undefined || a.held > untrusted.held) && !a.trusted())
          untrusted = a
      }
      if (untrusted !== undefined && account.held + n <= this.max) {
        // A client without the password gives way to one with it, whatever it holds.
        untrusted.evict()
        this.release(untrusted)
        continue
      }
      // The one asking would hold the most: refused (always so for a request larger than
      // the whole budget, which thus closes nobody).
      if (largest === undefined || largest.held <= account.held + n) return false
      largest.evict()
      // Released even if the eviction did not: the loop must make progress.
      this.release(largest)
    }
    this.#used += n
    account.held += n
    this.#holders.add(account)
    return true
  }

  /** @internal through {@link BudgetAccount.release} */
  release(account: Account): void {
    if (account.held === 0) return
    this.#used -= account.held
    account.held = 0
    this.#holders.delete(account)
  }
}
