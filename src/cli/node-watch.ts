/**
 * What a running node logs besides start and stop: peers connecting and disconnecting,
 * classes of rejected input, and its clock becoming skewed (or refusing writes) against
 * the mesh. The library has no peer events yet, so this polls `admin.mesh.peers()` and
 * `stats()` once a second.
 * @module
 */
import type { Logger } from 'pino'
import type { Cache } from '../api/cache.js'
import { type Clock, SystemClock } from '../clock/clock.js'

/** Timing of the watcher, ms. */
export const WATCH_DEFAULTS = {
  /** How often peers and counters are read. */
  pollMs: 1_000,
  /** Rejected-input counts are logged at most this often (their increments since the last line). */
  rejectedLogEveryMs: 10_000,
} as const

/** A running watcher; `stop()` ends it. */
export interface NodeWatch {
  stop(): void
}

/** Options of {@link watchNode}; times in ms. */
export interface NodeWatchOptions {
  /** @default WATCH_DEFAULTS.pollMs */
  pollMs?: number
  /** @default WATCH_DEFAULTS.rejectedLogEveryMs */
  rejectedLogEveryMs?: number
  /** What polls and times the rejected-input window (the node's clock). @default the system clock */
  clock?: Clock
}

/** Starts logging peer changes, rejected input and clock skew of `cache` to `log`. */
export function watchNode(
  cache: Cache<unknown>,
  log: Logger,
  options: NodeWatchOptions = {},
): NodeWatch {
  const clock = options.clock ?? new SystemClock()
  const pollMs = options.pollMs ?? WATCH_DEFAULTS.pollMs
  const every = options.rejectedLogEveryMs ?? WATCH_DEFAULTS.rejectedLogEveryMs
  const peers = new Map<string, string | undefined>()
  let logged: Record<string, number> = { ...cache.stats().rejected }
  /** When rejected input was last logged, monotonic ms; undefined before the first line. */
  let lastRejectedLog: number | undefined

  let clockState = 'ok'
  const poll = () => {
    const skew = cache.stats().mesh?.clock
    if (skew !== undefined) {
      // One line when the clock becomes skewed, refused or fine again, not one per poll.
      const state = skew.refusingWrites ? 'refusing' : skew.skewed ? 'skewed' : 'ok'
      if (state !== clockState) {
        const fields = { correctionMs: skew.correctionMs, peersMeasured: skew.peersMeasured }
        if (state === 'ok') log.info(fields, 'clock back in line with the mesh')
        else
          log.warn(
            { ...fields, refusingWrites: state === 'refusing' },
            skew.reason ?? 'clock skewed',
          )
        clockState = state
      }
    }
    const mesh = cache.admin.mesh
    if (mesh !== undefined) {
      const now = new Map(mesh.peers().map((p) => [p.id, p.region]))
      for (const [id, region] of now) {
        if (!peers.has(id)) log.info({ peer: id, region: region ?? null }, 'peer connected')
        else if (peers.get(id) === undefined && region !== undefined) {
          log.debug({ peer: id, region }, 'peer announced its region')
        }
      }
      for (const [id, region] of peers) {
        if (!now.has(id)) log.info({ peer: id, region: region ?? null }, 'peer disconnected')
      }
      peers.clear()
      for (const [id, region] of now) peers.set(id, region)
    }
    const t = clock.monotonic()
    if (lastRejectedLog === undefined || t - lastRejectedLog >= every) {
      const current = cache.stats().rejected as Record<string, number>
      const increments: Record<string, number> = {}
      for (const [code, n] of Object.entries(current)) {
        const d = n - (logged[code] ?? 0)
        if (d > 0) increments[code] = d
      }
      if (Object.keys(increments).length > 0) {
        log.warn(
          {
            rejected: increments,
            sinceMs: lastRejectedLog === undefined ? null : Math.round(t - lastRejectedLog),
          },
          'rejected input from peers',
        )
        logged = { ...current }
        lastRejectedLog = t
      }
    }
  }
  const timer = clock.every(pollMs, () => {
    try {
      poll()
    } catch (err) {
      log.error({ err }, 'watching the node failed')
    }
  })
  return { stop: () => timer.cancel() }
}
