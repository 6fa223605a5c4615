/**
 * Route registration: each path is registered with its methods, and every other common
 * method answers 405 with an `Allow` header (fastify alone would answer 404). `OPTIONS`
 * answers 204 with `Allow`. `HEAD` is served wherever `GET` is (fastify runs the GET
 * handler and sends no body).
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Methods a route may serve. */
export type Method = 'GET' | 'PUT' | 'DELETE' | 'POST'

/** A route handler: answers through `reply` or returns the body. */
export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

/** Methods answered 405 when a path does not serve them. */
const COMMON_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH'] as const

/** A served route, as `/openapi.json` must document it. */
export interface ServedRoute {
  method: Method
  /** The fastify path pattern, e.g. `/v1/:ks/*`. */
  url: string
}

/** Registers routes and remembers them for the OpenAPI check. */
export class Router {
  /** Every (method, path) served, HEAD, OPTIONS and 405 answers excluded. */
  readonly served: ServedRoute[] = []

  constructor(private readonly app: FastifyInstance) {}

  /** Serves `url` with `handlers`; other methods get 405 with `Allow`. */
  add(url: string, handlers: Partial<Record<Method, Handler>>): void {
    const methods = Object.keys(handlers) as Method[]
    const allowed: string[] = [...methods]
    if (methods.includes('GET')) allowed.push('HEAD')
    allowed.push('OPTIONS')
    const allow = allowed.join(', ')
    for (const method of methods) {
      this.app.route({ method, url, handler: handlers[method]! })
      this.served.push({ method, url })
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
