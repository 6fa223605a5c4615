/**
 * The RESP listener of a headless node: a TCP server speaking the Redis protocol on the
 * node's cache. Reference: docs/resp.md; decisions: docs/decisions/resp.md.
 * @module
 */

import type { AddressInfo } from 'node:net'
import { createServer, type Server, type Socket } from 'node:net'
import type { Registry } from 'prom-client'
import type { Cache } from '../api/cache.js'
import type { Clock } from '../clock/clock.js'
import { CredentialSet } from '../edge/credentials.js'
import { clockOf } from '../node/internals.js'
import { COMMANDS } from './command-table.js'
import { Databases } from './databases.js'
import { RequestBudget } from './request-budget.js'
import { RespConnection } from './resp-connection.js'
import { RESP_DEFAULTS } from './resp-defaults.js'
import { REDIS_ERRORS } from './resp-error.js'
import { addRespMetrics } from './resp-metrics.js'
import { RespStats, type RespStatsSnapshot } from './resp-stats.js'
import { ScanSnapshots } from './scan-cursor.js'
import type { ServerContext, Session } from './session.js'

/** A structured logger (pino's shape). */
export interface RespLogger {
  error(obj: object, msg: string): void
}

/** Options of {@link startRespServer}. */
export interface RespServerOptions {
  /** Interface to bind. @default '127.0.0.1' */
  host?: string
  /** Port; 0 picks a free one. @default 6379 */
  port?: number
  /** Accepted passwords (`AUTH`); none: no `AUTH` needed. @default none */
  passwords?: readonly string[]
  /** Keyspaces of databases 0, 1, ... (`SELECT n`). @default ['default'] */
  keyspaces?: readonly string[]
  /** In database 0, `NAME:rest` is key `rest` of keyspace NAME, for the other listed keyspaces. @default false */
  prefixRouting?: boolean
  /** Most connections at once. @default 10_000 */
  maxClients?: number
  /** Largest bulk string (key or value), bytes. @default 4 MiB */
  maxBulkBytes?: number
  /** Most elements of one request. @default 524_288 */
  maxArrayLength?: number
  /** Largest request, bytes, each element counted as its bytes plus 128. @default 64 MiB */
  maxRequestBytes?: number
  /**
   * Most bytes held by partly received requests of all connections together (counted as
   * `maxRequestBytes` counts); when short, the client holding the most is closed.
   * @default 256 MiB
   */
  maxPartialRequestBytes?: number
  /** Queued output past which a connection stops reading, bytes. @default 1 MiB */
  outputPauseBytes?: number
  /** Queued output past which a connection is closed, bytes. @default 32 MiB */
  maxOutputBytes?: number
  /** meshcache's version, shown by `INFO`. @default '0.0.0' */
  version?: string
  /** Where unexpected failures are logged. @default nowhere */
  logger?: RespLogger
  /**
   * The node's clock: expiries and `TIME` on its (mesh-corrected) wall time, uptime,
   * client ages and command durations on its monotonic time. @default the clock of the
   * node behind `cache`
   */
  clock?: Clock
}

/** A running RESP listener. */
export interface RespServer {
  /** `host:port` it is bound to. */
  readonly address: string
  /** `redis://host:port` */
  readonly url: string
  /** Connections and per-command figures. */
  stats(): RespStatsSnapshot
  /** Adds its metrics to a Prometheus registry (the HTTP API's `/metrics`). */
  addMetrics(registry: Registry): void
  /** Stops accepting, closes every connection. */
  close(): Promise<void>
}

/**
 * Starts a RESP listener on `cache` (docs/resp.md). Opens the listed keyspaces.
 * @throws InvalidOptionError for a bad keyspace name; the listen error (`EADDRINUSE`...)
 *   when the address cannot be bound
 */
export async function startRespServer(
  cache: Cache<unknown>,
  options: RespServerOptions = {},
): Promise<RespServer> {
  const limits = {
    maxBulkBytes: options.maxBulkBytes ?? RESP_DEFAULTS.maxBulkBytes,
    maxArrayLength: options.maxArrayLength ?? RESP_DEFAULTS.maxArrayLength,
    maxRequestBytes: options.maxRequestBytes ?? RESP_DEFAULTS.maxRequestBytes,
    outputPauseBytes: options.outputPauseBytes ?? RESP_DEFAULTS.outputPauseBytes,
    maxOutputBytes: options.maxOutputBytes ?? RESP_DEFAULTS.maxOutputBytes,
  }
  const maxClients = options.maxClients ?? RESP_DEFAULTS.maxClients
  const budget = new RequestBudget(
    options.maxPartialRequestBytes ?? RESP_DEFAULTS.maxPartialRequestBytes,
  )
  const databases = new Databases(
    cache,
    options.keyspaces ?? RESP_DEFAULTS.keyspaces,
    options.prefixRouting ?? false,
  )
  const stats = new RespStats()
  const connections = new Set<RespConnection>()
  const clock = options.clock ?? clockOf(cache)
  const scans = new ScanSnapshots()
  const server: Server = createServer()
  let addressText = ''
  const logger = options.logger
  const ctx: ServerContext = {
    cache,
    databases,
    scans,
    password:
      options.passwords !== undefined && options.passwords.length > 0
        ? new CredentialSet(options.passwords)
        : undefined,
    stats,
    commands: COMMANDS,
    clock,
    sessions: function* (): Generator<Session> {
      for (const c of connections) yield c.session
    },
    limits: {
      scanCount: RESP_DEFAULTS.scanCount,
      maxWaitMs: RESP_DEFAULTS.maxWaitMs,
      maxOutputBytes: limits.maxOutputBytes,
      maxClients,
    },
    version: options.version ?? '0.0.0',
    get address() {
      return addressText
    },
    startedAt: clock.monotonic(),
    log: (err, message) => logger?.error({ err }, message),
  }
  let nextId = 1
  server.on('connection', (socket: Socket) => {
    if (connections.size >= maxClients) {
      stats.connectionsRejected++
      socket.on('error', () => {})
      socket.end(`-${REDIS_ERRORS.maxClients}\r\n`)
      return
    }
    stats.connections++
    stats.connectionsTotal++
    const c = new RespConnection(socket, nextId++, ctx, limits, budget, (closed) => {
      if (connections.delete(closed)) stats.connections--
    })
    connections.add(c)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? RESP_DEFAULTS.port, options.host ?? RESP_DEFAULTS.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  addressText = `${host}:${addr.port}`
  return {
    address: addressText,
    url: `redis://${addressText}`,
    stats: () => stats.snapshot(addressText),
    addMetrics: (registry) => addRespMetrics(registry, stats),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const c of connections) c.destroy()
      scans.clear()
      await closed
    },
  }
}
