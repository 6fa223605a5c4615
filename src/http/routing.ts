/**
 * Route registration: each path is registered with its methods and the query parameters
 * each method reads (any other is a 400), and every other common method answers 405 with
 * an `Allow` header (fastify alone would answer 404). `OPTIONS` answers 204 with `Allow`.
 * `HEAD` is served wherever `GET` is (fastify runs the GET handler and sends no body).
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { checkQueryNames } from './known-names.js'
import { openapiPath } from './openapi.js'
import type { Query } from './params.js'

/** Methods a route may serve. */
export type Method = 'GET' | 'PUT' | 'DELETE' | 'POST'

/** A route handler: answers through `reply` or returns the body. */
export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** Methods answered 405 when a path does not serve them. */
const COMMON_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH'] as const

/** The query parameters each method of a path reads; a method not listed reads none. */
export type QueryNames = Partial<Record<Method, readonly string[]>>

/** A served route, as `/openapi.json` must document it. */
export interface ServedRoute {
  method: Method
  /** The fastify path pattern, e.g. `/v1/:ks/*`. */
  url: string
  /** The query parameters it reads (any other is refused). */
  query: readonly string[]
}

/** Registers routes and remembers them for the OpenAPI check. */
export class Router {
  /** Every (method, path) served, HEAD, OPTIONS and 405 answers excluded. */
  readonly served: ServedRoute[] = []

  constructor(private readonly app: FastifyInstance) {}

  /**
   * Serves `url` with `handlers`; other methods get 405 with `Allow`. A request naming a
   * query parameter outside `query[method]` gets 400 `ERR_INVALID_OPTION`.
   */
  add(url: string, handlers: Partial<Record<Method, Handler>>, query: QueryNames = {}): void {
    const methods = Object.keys(handlers) as Method[]
    const allowed: string[] = [...methods]
    if (methods.includes('GET')) allowed.push('HEAD')
    allowed.push('OPTIONS')
    const allow = allowed.join(', ')
    for (const method of methods) {
      const handler = handlers[method]!
      const known = query[method] ?? []
      const where = `${method} ${openapiPath(url)}`
      this.app.route({
        method,
        url,
        handler: (request, reply) => {
          checkQueryNames(request.query as Query, known, where)
          return handler(request, reply)
        },
      })
      this.served.push({ method, url, query: known })
    }
    const others = COMMON_METHODS.filter((m) => !allowed.includes(m))
    if (others.length > 0) {
      this.app.route({
        method: [...others],
        url,
        exposeHeadRoute: false,
        handler: async (request, reply) =>
          reply
            .code(405)
            .header('allow', allow)
            .send({
              error: 'ERR_METHOD_NOT_ALLOWED',
              message: `${request.method} is not served here; use ${allow}`,
            }),
      })
    }
    this.app.route({
      method: 'OPTIONS',
      url,
      handler: async (_request, reply) => reply.code(204).header('allow', allow).send(),
    })
  }
}
