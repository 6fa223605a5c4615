/**
 * Counters of a RESP listener: connections, and per command calls, errors and a latency
 * histogram. The hot path only increments; `/metrics` and `/status` read them.
 * @module
 */

/** Upper bounds of the latency buckets, microseconds (the last bucket is +Inf). */
export const RESP_LATENCY_BUCKETS_US = [
  5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 250_000, 1_000_000, 5_000_000,
] as const

/** The counters of one command. */
export class CommandCounter {
  /** Calls answered (errors included). */
  calls = 0
  /** Calls answered with an error. */
  errors = 0
  /** Sum of latencies, seconds. */
  sumSeconds = 0
  /** Calls per latency bucket (not cumulative); the last is +Inf. */
  readonly buckets = new Float64Array(RESP_LATENCY_BUCKETS_US.length + 1)

  /** Records one answered call. */
  record(seconds: number, error: boolean): void {
    this.calls++
    if (error) this.errors++
    this.sumSeconds += seconds
    const us = seconds * 1e6
    let i = 0
    while (i < RESP_LATENCY_BUCKETS_US.length && us > RESP_LATENCY_BUCKETS_US[i]!) i++
    this.buckets[i]!++
  }

  /** The bucket bound under which a fraction `q` of calls fell, microseconds. */
  quantileUs(q: number): number | undefined {
    if (this.calls === 0) return undefined
    const target = q * this.calls
    let seen = 0
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!
      if (seen >= target) return RESP_LATENCY_BUCKETS_US[i] ?? Number.POSITIVE_INFINITY
    }
    return Number.POSITIVE_INFINITY
  }
}

/** Per-command figures as `/status` shows them (under `resp.commands`). */
export interface CommandStatsSnapshot {
  calls: number
  errors: number
  /** Mean latency, microseconds. */
  meanUs: number
  /** Bucket bounds under which half and 99% of calls fell, microseconds (null: over the last bound). */
  p50Us: number | null
  p99Us: number | null
}

/** The RESP listener's figures, as `/status` shows them (under `resp`). */
export interface RespStatsSnapshot {
  /** `host:port` the listener is bound to. */
  address: string
  /** Open connections now. */
  connections: number
  /** Connections accepted since start. */
  connectionsTotal: number
  /** Connections refused (over `maxClients`). */
  connectionsRejected: number
  /** Clients closed for a malformed or oversized request. */
  protocolErrors: number
  /** Clients closed for not reading their replies (output over the bound). */
  outputLimitCloses: number
  /** `AUTH` / `HELLO AUTH` with a wrong password. */
  authFailures: number
  /** By command name (lower case; `unknown` for commands this listener does not serve). */
  commands: Record<string, CommandStatsSnapshot>
}

/** The counters of one RESP listener. */
export class RespStats {
  connections = 0
  connectionsTotal = 0
  connectionsRejected = 0
  protocolErrors = 0
  outputLimitCloses = 0
  authFailures = 0
  readonly #commands = new Map<string, CommandCounter>()

  /** The counter of command `name` (created on first use; names come from the command table). */
  command(name: string): CommandCounter {
    let c = this.#commands.get(name)
    if (c === undefined) {
      c = new CommandCounter()
      this.#commands.set(name, c)
    }
    return c
  }

  /** Every command counter by name. */
  commands(): ReadonlyMap<string, CommandCounter> {
    return this.#commands
  }

  /** The figures as plain data. */
  snapshot(address: string): RespStatsSnapshot {
    const commands: Record<string, CommandStatsSnapshot> = {}
    const finite = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v)
    for (const [name, c] of [...this.#commands].sort(([a], [b]) => (a < b ? -1 : 1))) {
      commands[name] = {
        calls: c.calls,
        errors: c.errors,
        meanUs: c.calls === 0 ? 0 : Math.round((c.sumSeconds / c.calls) * 1e7) / 10,
        p50Us: finite(c.quantileUs(0.5)),
        p99Us: finite(c.quantileUs(0.99)),
      }
    }
    return {
      address,
      connections: this.connections,
      connectionsTotal: this.connectionsTotal,
      connectionsRejected: this.connectionsRejected,
      protocolErrors: this.protocolErrors,
      outputLimitCloses: this.outputLimitCloses,
      authFailures: this.authFailures,
      commands,
    }
  }
}
