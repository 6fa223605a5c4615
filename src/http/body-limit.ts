/**
 * The request body limit (`--max-body-bytes`): how it is advertised, and the 413 that
 * refuses a larger body, by its `Content-Length` before reading it, or as soon as a
 * chunked body passes the limit. The connection of a refused request closes by lingering
 * (lingering-close.ts), so the client reads the 413 instead of a reset.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorAnswer } from './http-errors.js'
import { type LingerLimits, lingerAfterRefusal } from './lingering-close.js'

/**
 * Response header that advertises the body limit, bytes: sent with every answer to a
 * PUT or POST and with every 413, so clients can refuse a larger body before sending it.
 */
export const MAX_BODY_HEADER = 'x-max-body-bytes'

/** The body limit and what happens to the connection of a refused body. */
export interface BodyLimit extends LingerLimits {
  /** Largest request body, bytes. */
  maxBodyBytes: number
}

/** The `Content-Length` a request declares, or undefined (none, chunked, or malformed). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const text = req.headers['content-length']
  if (text === undefined || !/^\d+$/.test(text)) return undefined
  return Number(text)
}

/** The 413 answer to a body over the limit; `declared` is its `Content-Length` when known. */
export function bodyTooLarge(limit: BodyLimit, declared?: number): ErrorAnswer {
  const size = declared === undefined ? 'this body is' : `this body of ${declared} bytes is`
  return {
    status: 413,
    body: {
      error: 'ERR_BODY_TOO_LARGE',
      message: `${size} over the limit of ${limit.maxBodyBytes} bytes per request body (--max-body-bytes)`,
      maxBodyBytes: limit.maxBodyBytes,
    },
  }
}

/**
 * Answers 413 to a request that asked `Expect: 100-continue` for a body over the limit,
 * before the body is sent (outside fastify: Node asks before any route runs). A client
 * that sends the body anyway is lingered on like any refused body.
 */
export function refuseExpectedBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: BodyLimit,
): void {
  const answer = bodyTooLarge(limit, declaredLength(req))
  const text = JSON.stringify(answer.body)
  lingerAfterRefusal(req, limit)
  res.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
    [MAX_BODY_HEADER]: String(limit.maxBodyBytes),
  })
  res.end(text)
}
