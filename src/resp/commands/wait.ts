/**
 * `WAIT numreplicas timeout`, mapped onto write acknowledgement levels: 1 replica is
 * `ack: 'peer'` (a node of another region applied the connection's last writes), 2 or
 * more is `ack: 'quorum'` (a majority of regions). The reply counts other regions that
 * hold the writes.
 *
 * The facade acknowledges a write when it is made, not later: so `WAIT` writes the
 * connection's last writes again, with the same values, expiries and tags, and the ack
 * level (a new version of each, replicated like any write). A write that a newer one
 * replaced meanwhile is not written again: it no longer needs replicas.
 * @module
 */

import { compareVersions } from '../../clock/version.js'
import { AckTimeoutError } from '../../errors.js'
import { intArg } from '../args.js'
import { REDIS_ERRORS, RespError } from '../resp-error.js'
import type { CommandSpec, LastWrite, Session } from '../session.js'

/** Regions other than this node's with a connected peer. */
function otherRegions(s: Session): number {
  const cache = s.server.cache
  const regions = new Set<string>()
  for (const p of cache.admin.mesh?.peers() ?? []) {
    if (p.region !== undefined && p.region !== cache.region) regions.add(p.region)
  }
  return regions.size
}

/** Writes `w` again with `ack`, unless a newer write replaced it. */
function replay(
  s: Session,
  w: LastWrite,
  ack: 'peer' | 'quorum',
  ackTimeout: number,
): Promise<unknown> | undefined {
  const known = s.server.cache.admin.version(w.space.name, w.key)
  if (known === undefined || w.version === undefined) return undefined
  if (compareVersions(known.version, w.version) !== 0) return undefined
  if (w.deleted) {
    return w.space.delete(w.key, { ack, ackTimeout }).then(() => {
      w.version = s.server.cache.admin.version(w.space.name, w.key)?.version
    })
  }
  const entry = w.space.entry(w.key)
  if (entry === undefined) return undefined
  const ttl = Math.ceil(entry.expiresAt - s.server.clock.now())
  if (!(ttl > 0)) return undefined
  return w.space
    .set(w.key, entry.value, {
      ...(Number.isFinite(ttl) ? { ttl } : {}),
      ...(entry.tags === undefined ? {} : { tags: entry.tags }),
      ack,
      ackTimeout,
    })
    .then((version) => {
      w.version = version
    })
}

async function wait(s: Session, args: Buffer[]): Promise<void> {
  const replicas = intArg(args[1]!)
  const timeout = intArg(args[2]!)
  if (timeout < 0) throw new RespError(REDIS_ERRORS.timeoutNegative)
  if (replicas <= 0 || s.server.cache.admin.mesh === undefined) return s.out.integer(0)
  const ack = replicas === 1 ? 'peer' : 'quorum'
  const max = s.server.limits.maxWaitMs
  const ackTimeout = timeout === 0 ? max : Math.min(timeout, max)
  const pending = s.lastWrites
    .map((w) => replay(s, w, ack, ackTimeout))
    .filter((p) => p !== undefined)
  const regions = otherRegions(s)
  if (pending.length === 0) return s.out.integer(regions)
  try {
    await Promise.all(pending)
  } catch (err) {
    if (err instanceof AckTimeoutError) return s.out.integer(err.acknowledged.length)
    throw err
  }
  // 'peer': one region; 'quorum': a majority of the regions known, this one included.
  const quorumOthers = Math.floor((regions + 1) / 2)
  s.out.integer(ack === 'peer' ? 1 : Math.max(1, quorumOthers))
}

/** `WAIT`. */
export const WAIT_COMMAND: CommandSpec = {
  name: 'wait',
  arity: 3,
  flags: [],
  blocks: true,
  keys: [0, 0, 0],
  group: 'generic',
  since: '3.0.0',
  summary:
    "Blocks until the connection's last writes are acknowledged by other regions (1: ack 'peer', 2+: ack 'quorum').",
  run: wait,
}
