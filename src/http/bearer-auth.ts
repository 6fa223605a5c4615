/**
 * Bearer tokens on the HTTP API (`--http-token-file`): every route but the health probes
 * needs `Authorization: Bearer <token>`; others get 401 `ERR_UNAUTHORIZED` in the usual
 * error shape, with `WWW-Authenticate`. Tokens are compared in constant time
 * (`src/edge/credentials.ts`). With `metricsPublic`, `/metrics`, `/status` and `/status/mesh`
 * are open too. The status page's HTML (`/`, `/ui`) is always served: it holds no data, and its
 * script asks for the token and sends it to `/status` (browsers cannot add a bearer
 * header to a page load).
 * @module
 */
import type { FastifyInstance } from 'fastify'
import { CredentialSet } from '../edge/credentials.js'

/** Options of {@link addBearerAuth}. */
export interface HttpAuthOptions {
  /** Accepted tokens (several, so they can rotate). */
  tokens: readonly string[]
  /** Serve `/metrics`, `/status` and `/status/mesh` without a token. @default false */
  metricsPublic?: boolean
}

/** Paths served without a token: probes and the page shell. */
const ALWAYS_PUBLIC = new Set(['/health/live', '/health/ready', '/healthz', '/', '/ui'])
/** Paths served without a token with `metricsPublic`. */
const METRICS_PATHS = new Set(['/metrics', '/status', '/status/mesh'])

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive). */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header)
  return m?.[1]
}

/** Requires a bearer token on every request but the public paths. */
export function addBearerAuth(app: FastifyInstance, options: HttpAuthOptions): void {
  const tokens = new CredentialSet(options.tokens)
  const metricsPublic = options.metricsPublic === true
  app.addHook('onRequest', (request, reply, done) => {
    const q = request.url.indexOf('?')
    const path = q === -1 ? request.url : request.url.slice(0, q)
    if (ALWAYS_PUBLIC.has(path) || (metricsPublic && METRICS_PATHS.has(path))) return done()
    const token = bearerToken(request.headers.authorization)
    if (token !== undefined && tokens.matches(token)) return done()
    reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="meshcache"')
      .send({
        error: 'ERR_UNAUTHORIZED',
        message:
          token === undefined
            ? "this route needs Authorization: Bearer <token> (a token of the node's --http-token-file)"
            : "the bearer token is not one of the node's --http-token-file",
      })
  })
}
