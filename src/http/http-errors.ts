/**
 * Errors of the HTTP API: every error answer is `{ "error": CODE, "message": text }` with
 * a stable code; no stack trace or internal detail ever reaches a client.
 * @module
 */
import { AckTimeoutError, MeshcacheError } from '../errors.js'

/** A request the API refuses, with its HTTP status and stable code. */
export class HttpError extends Error {
  /**
   * @param status - HTTP status code
   * @param code - stable machine-readable code, e.g. `ERR_BAD_BODY`
   * @param message - what is wrong and what to do, for people
   * @param extra - more fields of the error body (e.g. `lease`)
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/** HTTP status of each library error code; other library errors are 400. */
export const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  ERR_INVALID_KEY: 400,
  ERR_INVALID_OPTION: 400,
  ERR_UNENCODABLE_VALUE: 400,
  ERR_VALUE_TOO_LARGE: 413,
  ERR_CACHE_CLOSED: 503,
  ERR_CLOCK_SKEW: 503,
  ERR_ACK_TIMEOUT: 504,
  ERR_TIMEOUT: 504,
}

/** Fastify's own errors, mapped to the API's codes. */
const FRAMEWORK_ERRORS: Readonly<Record<string, { status: number; code: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'ERR_BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'ERR_BAD_REQUEST' },
  FST_ERR_BAD_URL: { status: 400, code: 'ERR_BAD_URL' },
}

/** An error answer: status, body and no more. */
export interface ErrorAnswer {
  status: number
  body: { error: string; message: string; [field: string]: unknown }
}

/**
 * The answer to a thrown error. Unknown errors become 500 `ERR_INTERNAL` with a generic
 * message (the caller logs the real one).
 */
export function errorAnswer(err: unknown): ErrorAnswer {
  if (err instanceof HttpError) {
    return { status: err.status, body: { error: err.code, message: err.message, ...err.extra } }
  }
  if (err instanceof MeshcacheError) {
    const body: ErrorAnswer['body'] = { error: err.code, message: err.message }
    if (err instanceof AckTimeoutError) {
      body.acknowledged = err.acknowledged
      body.required = err.required
    }
    return { status: STATUS_OF_CODE[err.code] ?? 400, body }
  }
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown }
  const known = typeof e?.code === 'string' ? FRAMEWORK_ERRORS[e.code] : undefined
  if (known)
    return { status: known.status, body: { error: known.code, message: String(e.message) } }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: 'ERR_BAD_REQUEST', message: String(e.message) } }
  }
  return {
    status: 500,
    body: { error: 'ERR_INTERNAL', message: 'internal error; the node logged it' },
  }
}

/** A 400 for a bad query parameter or header. */
export function invalidOption(message: string): HttpError {
  return new HttpError(400, 'ERR_INVALID_OPTION', message)
}

/** A 400 for a body that does not decode or has the wrong shape. */
export function badBody(message: string): HttpError {
  return new HttpError(400, 'ERR_BAD_BODY', message)
}
