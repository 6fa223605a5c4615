/**
 * The sidecar's HTTP API on fastify: server setup, timeouts, body limits, errors and
 * metrics; the routes live in key-routes, bulk-routes and ops-routes. Reference:
 * docs/http-api.md; decisions: docs/decisions/http-api.md.
 * @module
 */
import { createServer, maxHeaderSize, type Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { Registry } from 'prom-client'
import type { Cache } from '../api/cache.js'
import type { ChangeEvent } from '../api/events.js'
import type { Clock } from '../clock/clock.js'
import { clockOf } from '../node/internals.js'
import { addBearerAuth, type HttpAuthOptions } from './bearer-auth.js'
import {
  type BodyLimit,
  bodyTooLarge,
  declaredLength,
  MAX_BODY_HEADER,
  refuseExpectedBody,
} from './body-limit.js'
import { addBulkRoutes } from './bulk-routes.js'
import {
  clientErrorHandler,
  connectHandler,
  MISSING_HOST,
  notImplemented,
  RAW_HASH,
} from './client-errors.js'
import { type HttpContext, type HttpLogger, keyId, type Readiness } from './http-context.js'
import { HTTP_DEFAULTS, lingerBytesFor } from './http-defaults.js'
import { errorAnswer } from './http-errors.js'
import { httpLatency } from './http-metrics.js'
import { addKeyRoutes } from './key-routes.js'
import { LeaseTable } from './lease-table.js'
import { lingerAfterRefusal } from './lingering-close.js'
import { cacheMetrics } from './metrics.js'
import { openapiDocument } from './openapi.js'
import { addOpsRoutes } from './ops-routes.js'
import { Router, type ServedRoute } from './routing.js'
import { malformedContentType } from './values.js'

export type { HttpAuthOptions } from './bearer-auth.js'
export type { HttpLogger, Readiness } from './http-context.js'
export { HTTP_DEFAULTS } from './http-defaults.js'

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  /** Interface to bind. @default '127.0.0.1' */
  host?: string
  /** Port; 0 picks a free one. @default 8080 */
  port?: number
  /**
   * Largest request body, bytes; larger ones get 413 (by `Content-Length` before being
   * read, or as soon as a chunked body passes it). @default 1_100_000
   */
  maxBodyBytes?: number
  /**
   * After a 413, most body bytes read and discarded before the connection is closed
   * (lingering close: the client reads the 413 instead of a reset).
   * @default 64 MiB, or 4 x maxBodyBytes when larger
   */
  lingerMaxBytes?: number
  /** After a 413, longest time the connection stays open to discard the body, ms. @default 10_000 */
  lingerMs?: number
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
  /**
   * Readiness for `/health/ready`. @default ready once `cache.ready` resolved, while the
   * cache is open and its clock lets it write ({@link clockRefused})
   */
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
  /** The node's clock (`/status` is stamped with its time). @default the clock of the node behind `cache` */
  clock?: Clock
}

/** A running HTTP API. */
export interface HttpApi {
  /** The node:http server under fastify. */
  server: Server
  /** `http://host:port` */
  url: string
  /** Routes served (method and fastify path), for the OpenAPI check. */
  routes(): readonly ServedRoute[]
  /** Load leases held (and the bytes they take) and callers waiting for a holder's value, now. */
  leaseStats(): { held: number; bytes: number; waiting: number }
  /** Stops accepting, cuts open connections, ends lease waits. */
  close(): Promise<void>
}

/** Not ready while a (re)started node catches up with its peers (`cache.ready`). */
export function catchingUp(cache: Cache<unknown>): Readiness | undefined {
  return cache.isReady
    ? undefined
    : { ready: false, reason: 'catching up with the mesh after a start (cache.ready)' }
}

/**
 * Not ready while this node refuses writes because its clock is too far off its peers'
 * (`stats().mesh.clock.refusingWrites`, docs/consistency.md "Clocks"): the reason says
 * by how much and what to do.
 */
export function clockRefused(cache: Cache<unknown>): Readiness | undefined {
  const clock = cache.stats().mesh?.clock
  return clock?.refusingWrites === true
    ? { ready: false, reason: clock.reason ?? "this node's clock is too far off its peers'" }
    : undefined
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
  const limit: BodyLimit = {
    maxBodyBytes,
    maxBytes: options.lingerMaxBytes ?? lingerBytesFor(maxBodyBytes),
    maxMs: options.lingerMs ?? HTTP_DEFAULTS.lingerMs,
  }
  const logger = options.logger ?? NO_LOG
  const onChange = (e: ChangeEvent) => leases.notify(keyId(e.keyspace, e.key))
  // The change listener is registered only while lease callers wait: no cost otherwise.
  const leases = new LeaseTable({
    onWaiting: (active) => (active ? cache.on('change', onChange) : cache.off('change', onChange)),
  })
  const ctx: HttpContext = {
    cache,
    clock: options.clock ?? clockOf(cache),
    leases,
    maxBodyBytes,
    maxKeyspaces: options.maxKeyspaces ?? HTTP_DEFAULTS.maxKeyspaces,
    maxBulkKeys: options.maxBulkKeys ?? HTTP_DEFAULTS.maxBulkKeys,
    admin: options.admin ?? false,
    readiness:
      options.readiness ?? (() => catchingUp(cache) ?? clockRefused(cache) ?? { ready: true }),
    logger,
    spaces: new Map(),
    ...(options.status ? { status: options.status } : {}),
  }
  const app = buildApp(options, limit)
  const registry = cacheMetrics(cache)
  options.metrics?.(registry)
  const observe = httpLatency(registry)
  app.addHook('onRequest', (request, reply, done) => {
    // Node's own Host check answers an empty 400: it is off, and done here in our shape.
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return void reply.code(MISSING_HOST.status).send(MISSING_HOST.body)
    }
    // The router would read a raw `#` as the end of the path: `PUT /v1/ks/order#ttl=60`
    // wrote key `order` with a 60 s TTL. A key holding `#` is sent as %23.
    if (request.raw.url?.includes('#')) {
      return void reply.code(RAW_HASH.status).send(RAW_HASH.body)
    }
    // Clients learn the body limit from any write's answer (and from every 413).
    if (request.method === 'PUT' || request.method === 'POST') {
      reply.header(MAX_BODY_HEADER, String(maxBodyBytes))
    }
    done()
  })
  if (options.auth !== undefined) addBearerAuth(app, options.auth)
  app.addHook('onResponse', (request, reply, done) => {
    const method = KNOWN_METHODS.has(request.method) ? request.method : 'OTHER'
    observe(request.routeOptions.url ?? 'none', method, reply.statusCode, reply.elapsedTime / 1_000)
    done()
  })
  app.setErrorHandler((err, request, reply) => {
    let answer = errorAnswer(err)
    if ((err as { code?: unknown }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      answer = malformedContentType(request.headers['content-type'])
    } else if (answer.body.error === 'ERR_BODY_TOO_LARGE') {
      answer = bodyTooLarge(limit, declaredLength(request.raw))
      // The client may still be sending: read the rest before closing (no reset).
      lingerAfterRefusal(request.raw, limit)
      reply.header('connection', 'close')
    }
    if (answer.status >= 500 && answer.body.error === 'ERR_INTERNAL') {
      logger.error({ err, method: request.method, url: request.url }, 'http request failed')
    }
    return reply.code(answer.status).send(answer.body)
  })
  app.setNotFoundHandler((request, reply) => {
    if (!KNOWN_METHODS.has(request.method)) {
      const answer = notImplemented(request.method)
      return reply.code(answer.status).send(answer.body)
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
    leaseStats: () => ({ held: leases.size, bytes: leases.bytes, waiting: leases.waiting }),
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
function buildApp(options: HttpApiOptions, limit: BodyLimit): FastifyInstance {
  const { maxBodyBytes } = limit
  const headersTimeout = options.headersTimeoutMs ?? HTTP_DEFAULTS.headersTimeoutMs
  const requestTimeout = Math.max(
    options.requestTimeoutMs ?? HTTP_DEFAULTS.requestTimeoutMs,
    headersTimeout,
  )
  // Requests refused outside fastify (parse errors, CONNECT) linger at most 1 s.
  const clientLinger = {
    maxBytes: limit.maxBytes,
    maxMs: Math.min(limit.maxMs, HTTP_DEFAULTS.clientErrorLingerMs),
  }
  const app = Fastify({
    logger: false,
    bodyLimit: maxBodyBytes,
    // Keys up to 1,024 characters, percent-encoded UTF-8 (node caps the request line at 16 KB).
    routerOptions: { maxParamLength: 16_384, ignoreDuplicateSlashes: false },
    return503OnClosing: false,
    forceCloseConnections: true,
    clientErrorHandler: clientErrorHandler(clientLinger, maxHeaderSize),
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
          requireHostHeader: false,
          keepAliveTimeout: HTTP_DEFAULTS.keepAliveTimeoutMs,
          connectionsCheckingInterval:
            options.connectionsCheckingIntervalMs ?? HTTP_DEFAULTS.connectionsCheckingIntervalMs,
        },
        handler,
      )
      // CONNECT: without a listener Node closes the connection with no answer at all.
      server.on('connect', connectHandler(clientLinger))
      // `Expect: 100-continue` (curl, for bodies over 1 MiB): refuse a declared body
      // over the limit before the client sends it; otherwise continue as Node would.
      server.on('checkContinue', (req, res) => {
        if ((declaredLength(req) ?? 0) > maxBodyBytes) return refuseExpectedBody(req, res, limit)
        res.writeContinue()
        handler(req, res)
      })
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
