import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Cache } from '../api/cache.js'
import type { AckLevel } from '../api/call-options.js'
import { formatVersion } from '../clock/version.js'
import { MeshcacheError } from '../errors.js'
import { checkKeyspaceName } from '../replica/keyspace-options.js'
import { msgpack } from '../replication/value-codec.js'
import { cacheMetrics } from './metrics.js'

/** Defaults of {@link HttpApiOptions} and of the server's timeouts. */
export const HTTP_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxBodyBytes: 1_100_000,
  maxKeyspaces: 64,
  /** Longest time to receive a request's headers, ms. */
  headersTimeoutMs: 10_000,
  /** Longest time to receive a whole request, ms. */
  requestTimeoutMs: 30_000,
} as const

/** Options of {@link startHttpApi}. */
export interface HttpApiOptions {
  /** Interface to bind. @default '127.0.0.1' */
  host?: string
  /** Port; 0 picks a free one. @default 8080 */
  port?: number
  /** Largest request body, bytes; larger ones get 413 before being read in full. @default 1_100_000 */
  maxBodyBytes?: number
  /** Most keyspaces HTTP clients may open. @default 64 */
  maxKeyspaces?: number
  /** Serve `POST /admin/block` and `/admin/unblock` (partitions for tests and drills). @default false */
  admin?: boolean
}

/** A running HTTP API. */
export interface HttpApi {
  server: Server
  /** `http://host:port` */
  url: string
  close(): Promise<void>
}

const STATUS_OF: Record<string, number> = {
  ERR_INVALID_KEY: 400,
  ERR_INVALID_OPTION: 400,
  ERR_UNENCODABLE_VALUE: 400,
  ERR_VALUE_TOO_LARGE: 413,
  ERR_CACHE_CLOSED: 503,
  ERR_ACK_TIMEOUT: 504,
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text =
    body === undefined
      ? ''
      : JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(text)
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > max)
    throw new HttpError(413, 'ERR_BODY_TOO_LARGE', `body of ${declared} bytes is over ${max}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > max) throw new HttpError(413, 'ERR_BODY_TOO_LARGE', `body is over ${max} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

function decodeBody(req: IncomingMessage, body: Buffer): unknown {
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim()
  try {
    if (type === 'application/msgpack' || type === 'application/x-msgpack')
      return msgpack.unpack(body)
    if (type === 'application/json' || type === 'text/json')
      return JSON.parse(body.toString('utf8'))
  } catch {
    throw new HttpError(400, 'ERR_BAD_BODY', `body is not valid ${type}`)
  }
  throw new HttpError(
    415,
    'ERR_UNSUPPORTED_MEDIA_TYPE',
    'send application/json or application/msgpack',
  )
}

/** `ack` and `ackTimeout` query parameters of PUT and DELETE. */
function writeOptions(url: URL): { ack?: AckLevel; ackTimeout?: string | number } {
  const ack = url.searchParams.get('ack')
  const timeout = url.searchParams.get('ackTimeout')
  return {
    ...(ack ? { ack: ack as AckLevel } : {}),
    ...(timeout ? { ackTimeout: /^\d+$/.test(timeout) ? Number(timeout) : timeout } : {}),
  }
}

/**
 * Serves a cache over HTTP for services in other languages (a sidecar):
 * `GET/PUT/DELETE /v1/:keyspace/:key`, `GET /status`, `GET /metrics` (Prometheus).
 * Bad requests get 4xx with `{ error, message }`; nothing a client sends crashes the node.
 */
export async function startHttpApi(
  cache: Cache<unknown>,
  options: HttpApiOptions = {},
): Promise<HttpApi> {
  const maxBody = options.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes
  const maxKeyspaces = options.maxKeyspaces ?? HTTP_DEFAULTS.maxKeyspaces
  const registry = cacheMetrics(cache)

  const keyspace = (name: string, create: boolean) => {
    try {
      checkKeyspaceName(name)
    } catch (err) {
      throw new HttpError(400, 'ERR_INVALID_KEYSPACE', (err as Error).message)
    }
    const open = cache.keyspaces().get(name)
    if (open) return open
    if (!create) return undefined
    if (cache.keyspaces().size >= maxKeyspaces) {
      throw new HttpError(
        429,
        'ERR_TOO_MANY_KEYSPACES',
        `at most ${maxKeyspaces} keyspaces may be opened over HTTP`,
      )
    }
    return cache.keyspace(name)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let url: URL
    try {
      // Only the path and query matter; a path like '//x' must not parse as a host.
      url = new URL(`http://x${(req.url ?? '/').startsWith('/') ? '' : '/'}${req.url ?? '/'}`)
    } catch {
      throw new HttpError(400, 'ERR_BAD_URL', 'the request target is not a valid path')
    }
    const path = url.pathname
    if (path === '/status' && req.method === 'GET') return send(res, 200, cache.stats())
    if (path === '/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': registry.contentType })
      return res.end(await registry.metrics())
    }
    if (
      options.admin &&
      req.method === 'POST' &&
      (path === '/admin/block' || path === '/admin/unblock')
    ) {
      const mesh = cache.admin.mesh
      if (!mesh) throw new HttpError(409, 'ERR_NO_MESH', 'this node is not part of a mesh')
      const body = decodeBody(req, await readBody(req, maxBody)) as { peers?: unknown }
      const peers = Array.isArray(body?.peers)
        ? body.peers.filter((p): p is string => typeof p === 'string')
        : undefined
      if (path === '/admin/block') await mesh.block(peers ?? [])
      else mesh.unblock(peers)
      return send(res, 200, { blocked: mesh.blockedPeers() })
    }
    const m = /^\/v1\/([^/]+)\/(.+)$/.exec(path)
    if (!m)
      throw new HttpError(404, 'ERR_NOT_FOUND', 'routes: /v1/:keyspace/:key, /status, /metrics')
    let name: string
    let key: string
    try {
      name = decodeURIComponent(m[1]!)
      key = decodeURIComponent(m[2]!)
    } catch {
      throw new HttpError(
        400,
        'ERR_BAD_URL',
        'keyspace and key must be valid percent-encoded UTF-8',
      )
    }
    switch (req.method) {
      case 'GET': {
        const ks = keyspace(name, url.searchParams.get('fetch') === 'nearest')
        let entry = ks?.entry(key)
        if (
          entry === undefined &&
          ks !== undefined &&
          url.searchParams.get('fetch') === 'nearest'
        ) {
          await ks.fetch(key)
          entry = ks.entry(key)
        }
        if (ks === undefined || entry === undefined) {
          // A known newer delete or expired write still has a version: tell the client.
          const known = cache.admin.version(name, key)
          const headers: Record<string, string> = known
            ? {
                'x-version': formatVersion(known.version),
                'x-deleted': known.deleted ? '1' : '0',
              }
            : {}
          return send(
            res,
            404,
            { error: 'ERR_NOT_FOUND', message: `no live value for ${name}/${key}` },
            headers,
          )
        }
        ks.get(key) // counts the hit and refreshes recency
        const headers = {
          'x-version': formatVersion(entry.version),
          'x-expires-at': String(entry.expiresAt),
        }
        if ((req.headers.accept ?? '').includes('msgpack')) {
          res.writeHead(200, { 'content-type': 'application/msgpack', ...headers })
          return res.end(msgpack.pack(entry.value))
        }
        return send(res, 200, entry.value, headers)
      }
      case 'PUT': {
        const ks = keyspace(name, true)!
        const value = decodeBody(req, await readBody(req, maxBody))
        const ttl = url.searchParams.get('ttl') ?? (req.headers['x-ttl'] as string | undefined)
        const version = await ks.set(key, value, {
          ...(ttl ? { ttl: /^\d+$/.test(ttl) ? Number(ttl) : ttl } : {}),
          ...writeOptions(url),
        })
        return send(
          res,
          200,
          { version: formatVersion(version) },
          { 'x-version': formatVersion(version) },
        )
      }
      case 'DELETE': {
        const ks = keyspace(name, true)!
        const pending = ks.delete(key, writeOptions(url))
        // The delete is applied within the call: its version is the one known now. After
        // the ack wait a newer write of the key may have arrived (found by bench:chaos).
        const known = cache.admin.version(name, key)
        const deleted = await pending
        const version = formatVersion(known!.version)
        return send(res, 200, { deleted, version }, { 'x-version': version })
      }
      default:
        throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', 'use GET, PUT or DELETE')
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy()
      if (err instanceof HttpError)
        return send(res, err.status, { error: err.code, message: err.message })
      if (err instanceof MeshcacheError) {
        return send(res, STATUS_OF[err.code] ?? 400, { error: err.code, message: err.message })
      }
      send(res, 500, { error: 'ERR_INTERNAL', message: (err as Error)?.message ?? String(err) })
    })
  })
  server.headersTimeout = HTTP_DEFAULTS.headersTimeoutMs
  server.requestTimeout = HTTP_DEFAULTS.requestTimeoutMs
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? HTTP_DEFAULTS.port, options.host ?? HTTP_DEFAULTS.host, () =>
      resolve(),
    )
  })
  const addr = server.address() as AddressInfo
  return {
    server,
    url: `http://${addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
