/**
 * What every route module of the HTTP API shares: the cache, the resolved options, the
 * lease table, and the rules for opening keyspaces.
 * @module
 */
import type { Cache } from '../api/cache.js'
import type { Keyspace } from '../api/keyspace.js'
import type { Clock } from '../clock/clock.js'
import { checkKeyspaceName } from '../replica/keyspace-options.js'
import { HttpError } from './http-errors.js'
import type { LeaseTable } from './lease-table.js'

/** Readiness of the node, as `/health/ready` reports it. */
export interface Readiness {
  /** True when the node should receive traffic. */
  ready: boolean
  /** Why not, when not ready. */
  reason?: string
}

/** A structured logger (pino's shape): the API logs internal errors and nothing per request. */
export interface HttpLogger {
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** Shared state of the route modules. */
export interface HttpContext {
  readonly cache: Cache<unknown>
  /** The node's clock. */
  readonly clock: Clock
  readonly leases: LeaseTable
  readonly maxBodyBytes: number
  readonly maxKeyspaces: number
  readonly maxBulkKeys: number
  readonly admin: boolean
  readonly readiness: () => Readiness
  readonly logger: HttpLogger
  /** Keyspaces this API has used, by name. */
  readonly spaces: Map<string, Keyspace<unknown>>
  /** More top-level fields of `/status` (another edge's figures). */
  readonly status?: () => Record<string, unknown>
}

/** The lease-table id of a key: keyspace names cannot hold NUL, so ids never collide. */
export function keyId(keyspace: string, key: string): string {
  return `${keyspace}\u0000${key}`
}

/**
 * The keyspace `name`, checked. Opens it only when `create` (writes, read-through):
 * reads and deletes of a keyspace this node never opened change nothing.
 * @throws HttpError 400 `ERR_INVALID_KEYSPACE` for a bad name, 429 `ERR_TOO_MANY_KEYSPACES`
 */
export function keyspaceOf(
  ctx: HttpContext,
  name: string,
  create: boolean,
): Keyspace<unknown> | undefined {
  try {
    checkKeyspaceName(name)
  } catch (err) {
    throw new HttpError(400, 'ERR_INVALID_KEYSPACE', (err as Error).message)
  }
  const known = ctx.spaces.get(name)
  if (known !== undefined) return known
  // Keyspaces are never closed: once seen, a keyspace object is kept here (cheaper than
  // cache.keyspaces(), which lists every replica).
  const open = ctx.cache.keyspaces().get(name)
  if (open !== undefined) ctx.spaces.set(name, open)
  if (open !== undefined || !create) return open
  if (ctx.cache.keyspaces().size >= ctx.maxKeyspaces) {
    throw new HttpError(
      429,
      'ERR_TOO_MANY_KEYSPACES',
      `at most ${ctx.maxKeyspaces} keyspaces may be opened over HTTP`,
    )
  }
  const created = ctx.cache.keyspace(name)
  ctx.spaces.set(name, created)
  return created
}
