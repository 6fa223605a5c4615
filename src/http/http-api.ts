/**
 * The sidecar's HTTP API on fastify: server setup, timeouts, body limits, errors and
 * metrics; the routes live in key-routes, bulk-routes and ops-routes. Reference:
 * docs/http-api.md; decisions: docs/decisions/http-api.md.
 * @module
 */
import { createServer, type Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { Registry } from 'prom-client'
import type { Cache } from '../api/cache.js'
import type { ChangeEvent } from '../api/events.js'
import { addBearerAuth, type HttpAuthOptions } from './bearer-auth.js'
import { addBulkRoutes } from './bulk-routes.js'
import { type HttpContext, type HttpLogger, keyId, type Readiness } from './http-context.js'
import { HTTP_DEFAULTS } from './http-defaults.js'
import { errorAnswer } from './http-errors.js'
import { httpLatency } from './http-metrics.js'
import { addKeyRoutes } from './key-routes.js'
import { LeaseTable } from './lease-table.js'
import { cacheMetrics } from './metrics.js'
import { openapiDocument } from './openapi.js'
import { addOpsRoutes } from './ops-routes.js'
import { Router, type ServedRoute } from './routing.js'

export type { HttpAuthOptions } from './bearer-auth.js'
export type { HttpLogger, Readiness } from './http-context.js'
export { HTTP_DEFAULTS, HTTP_LIMITS, LEASE_DEFAULTS } from './http-defaults.js'

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  /** Interface to bind. @default '127.0.0.1' */
  host?: string
  /** Port; 0 picks a free one. @default 8080 */
  port?: number
  /** Largest request body, bytes; larger ones get 413 before being read. @default 1_100_000 */
  maxBodyBytes?: number
  /** Most keyspaces HTTP clients may open. @default 64 */
  maxKeyspaces?: number
  /** Most keys of one `:mget` or entries of one `:mset`. @default 1_000 */
  maxBulkKeys?: number
  /** Longest time to receive a request's headers, ms; slower clients are cut. @default 10_000 */
  headersTimeoutMs?: number
  /** Longest time to receive a whole request, ms; slower clients are cut. @default 30_000 */
  requestTimeoutMs?: number
  /** How often requests are checked against those timeouts, ms. @default 1_000 */
  connectionsCheckingIntervalMs?: number
  /** Serve `POST /admin/block` and `/admin/unblock` (partitions for tests and drills). @default false */
  admin?: boolean
  /** Readiness for `/health/ready`. @default ready once `cache.ready` resolved, while the cache is open */
  readiness?: () => Readiness
  /** Where internal errors are logged. @default nowhere */
  logger?: HttpLogger
  /** Version shown in `/openapi.json`. @default '0.0.0' */
  version?: string
  /** Bearer tokens required on every route but the health probes. @default none: no authentication */
  auth?: HttpAuthOptions
  /** PEM certificate (chain) and private key: serve HTTPS. @default plain HTTP */
  tls?: { cert: string; key: string }
  /** Adds more metrics to the `/metrics` registry (another edge's, such as the RESP listener). */
  metrics?: (registry: Registry) => void
  /** More top-level fields of `/status` (e.g. `{ resp: ... }`), read per request. */
  status?: () => Record<string, unknown>
}

/** A running HTTP API. */
export interface HttpApi {
  /** The node:http server under fastify. */
  server: Server
  /** `http://host:port` */
  url: string
  /** Routes served (method and fastify path), for the OpenAPI check. */
  routes(): readonly ServedRoute[]
  /** Load leases held and callers waiting for a holder's value, now. */
  leaseStats(): { held: number; waiting: number }
  /** Stops accepting, cuts open connections, ends lease waits. */
  close(): Promise<void>
}

/** Not ready while a (re)started node catches up with its peers (`cache.ready`). */
export function catchingUp(cache: Cache<unknown>): Readiness | undefined {
  return cache.isReady
    ? undefined
    : { ready: false, reason: 'catching up with the mesh after a start (cache.ready)' }
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS'])
const NO_LOG: HttpLogger = { warn() {}, error() {} }

/**
 * Serves a cache over HTTP for services in other languages (a sidecar): the v1 key and
 * bulk routes, load leases, health probes, `/status`, `/metrics` (Prometheus),
 * `/openapi.json` and the status page. Every error is `{ error, message }` with a stable
 * code; nothing a client sends crashes the node.
 */
export async function startHttpApi(
  cache: Cache<unknown>,
  options: HttpApiOptions = {},
): Promise<HttpApi> {
  const maxBodyBytes = options.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes
  const logger = options.logger ?? NO_LOG
  const onChange = (e: ChangeEvent) => leases.notify(keyId(e.keyspace, e.key))
  // The change listener is registered only while lease callers wait: no cost otherwise.
  const leases = new LeaseTable({
    onWaiting: (active) => (active ? cache.on('change', onChange) : cache.off('change', onChange)),
  })
  const ctx: HttpContext = {
    cache,
    leases,
    maxBodyBytes,
    maxKeyspaces: options.maxKeyspaces ?? HTTP_DEFAULTS.maxKeyspaces,
    maxBulkKeys: options.maxBulkKeys ?? HTTP_DEFAULTS.maxBulkKeys,
    admin: options.admin ?? false,
    readiness: options.readiness ?? (() => catchingUp(cache) ?? { ready: true }),
    logger,
    spaces: new Map(),
    ...(options.status ? { status: options.status } : {}),
  }
  const app = buildApp(options, maxBodyBytes)
  const registry = cacheMetrics(cache)
  options.metrics?.(registry)
  const observe = httpLatency(registry)
  if (options.auth !== undefined) addBearerAuth(app, options.auth)
  app.addHook('onResponse', (request, reply, done) => {
    const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER'
    observe(request.routeOptions.url ?? 'none', method, reply.statusCode, reply.elapsedTime / 1_000)
    done()
  })
  app.setErrorHandler((err, request, reply) => {
    const answer = errorAnswer(err)
    if (answer.body.error === 'ERR_BODY_TOO_LARGE') {
      answer.body.message = `request bodies are limited to ${maxBodyBytes} bytes (--max-body-bytes)`
    }
    if (answer.status >= 500 && answer.body.error === 'ERR_INTERNAL') {
      logger.error({ err, method: request.method, url: request.url }, 'http request failed')
    }
    return reply.code(answer.status).send(answer.body)
  })
  app.setNotFoundHandler((request, reply) => {
    if (!KNOWN_METHODS.has(request.method)) {
      return reply.code(501).send({
        error: 'ERR_NOT_IMPLEMENTED',
        message: `method ${request.method} is not supported`,
      })
    }
    return reply.code(404).send({
      error: 'ERR_NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]}; see /openapi.json`,
    })
  })
  const router = new Router(app)
  addKeyRoutes(router, ctx)
  addBulkRoutes(router, ctx)
  addOpsRoutes(router, ctx, registry, () =>
    openapiDocument({ version: options.version ?? '0.0.0', admin: ctx.admin }),
  )
  await app.listen({
    host: options.host ?? HTTP_DEFAULTS.host,
    port: options.port ?? HTTP_DEFAULTS.port,
  })
  const server = app.server
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${host}:${addr.port}`,
    routes: () => router.served,
    leaseStats: () => ({ held: leases.size, waiting: leases.waiting }),
    close: async () => {
      leases.clear()
      cache.off('change', onChange)
      server.closeAllConnections()
      await app.close()
    },
  }
}

/**
 * Fastify on a node:http server created here, so that the timeouts that cut slow clients
 * (headers, whole request, and how often they are checked) are set at construction.
 */
function buildApp(options: HttpApiOptions, maxBodyBytes: number): FastifyInstance {
  const headersTimeout = options.headersTimeoutMs ?? HTTP_DEFAULTS.headersTimeoutMs
  const requestTimeout = Math.max(
    options.requestTimeoutMs ?? HTTP_DEFAULTS.requestTimeoutMs,
    headersTimeout,
  )
  const app = Fastify({
    logger: false,
    bodyLimit: maxBodyBytes,
    // Keys up to 1,024 characters, percent-encoded UTF-8 (node caps the request line at 16 KB).
    routerOptions: { maxParamLength: 16_384, ignoreDuplicateSlashes: false },
    return503OnClosing: false,
    forceCloseConnections: true,
    serverFactory: (handler) => {
      // An HTTPS server takes the same options and behaves as an http.Server for fastify.
      const create = options.tls
        ? (createTlsServer as unknown as typeof createServer)
        : createServer
      const server = create(
        {
          ...options.tls,
          headersTimeout,
          requestTimeout,
          keepAliveTimeout: HTTP_DEFAULTS.keepAliveTimeoutMs,
          connectionsCheckingInterval:
            options.connectionsCheckingIntervalMs ?? HTTP_DEFAULTS.connectionsCheckingIntervalMs,
        },
        handler,
      )
      return server
    },
    frameworkErrors: (err, _request, reply) => {
      const answer = errorAnswer(err)
      ;(reply as FastifyReply).code(answer.status).send(answer.body)
    },
  })
  // One parser for every type: the body as bytes; routes decode it by content type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: maxBodyBytes },
    (_req, body, done) => done(null, body),
  )
  return app
}
