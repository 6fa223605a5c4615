/**
 * Requests Node's HTTP parser refuses before any route runs (an unknown method, headers
 * or URL over 16 KB, a NUL in the path, malformed framing, a request past its timeout)
 * answered in the API's documented shape `{ "error": "ERR_...", "message": ... }`
 * instead of fastify's `{"error":"Bad Request","message":"Client Error"}` (issue 23).
 *
 * The connection cannot be used after a parse error: the answer is written with
 * `Connection: close` and FIN, and what the client still sends is read and discarded
 * until it closes, up to the linger bounds (a client still sending a 400 KB URL would
 * otherwise get a reset instead of its 431). A request past its timeout gets its 408 and
 * is cut at once.
 * @module
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ErrorAnswer } from './http-errors.js'
import type { LingerLimits } from './lingering-close.js'

/** The methods the API serves, named in the 501 for any other. */
export const SERVED_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'OPTIONS'] as const

/** The 501 answer to a method the API does not serve (undefined: not even a token). */
export function notImplemented(method: string | undefined): ErrorAnswer {
  return {
    status: 501,
    body: {
      error: 'ERR_NOT_IMPLEMENTED',
      message: `${method === undefined ? 'this method' : `method ${method}`} is not supported; the API serves ${SERVED_METHODS.join(', ')}`,
    },
  }
}

/** The 400 answer to an HTTP/1.1 request without `Host` (RFC 9112 3.2). */
export const MISSING_HOST: ErrorAnswer = {
  status: 400,
  body: { error: 'ERR_BAD_REQUEST', message: 'an HTTP/1.1 request needs a Host header' },
}

/** The 400 answer to a raw `#` in the request target (it would cut the path short). */
export const RAW_HASH: ErrorAnswer = {
  status: 400,
  body: {
    error: 'ERR_BAD_URL',
    message:
      "the request target holds a raw '#': percent-encode it as %23 (a fragment is never sent to a server)",
  },
}

/** A parse error as Node reports it (`HPE_*` codes from llhttp, with the bytes it saw). */
interface ParseError extends Error {
  code?: string
  reason?: string
  rawPacket?: unknown
}

/** The answer to a request the parser refused, by the parser's error code. */
export function parseErrorAnswer(err: ParseError, maxHeaderBytes: number): ErrorAnswer {
  switch (err.code) {
    case 'HPE_INVALID_METHOD':
      return notImplemented(methodOf(err.rawPacket))
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        body: {
          error: 'ERR_HEADERS_TOO_LARGE',
          message: `the request line and headers are limited to ${maxHeaderBytes} bytes together (URL, headers, cookies)`,
        },
      }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        body: {
          error: 'ERR_BODY_TOO_LARGE',
          message: 'chunk extensions of the body are too large',
        },
      }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        body: {
          error: 'ERR_REQUEST_TIMEOUT',
          message: 'the request was not received in time (--http-request-timeout)',
        },
      }
    case 'HPE_INVALID_URL':
      return {
        status: 400,
        body: {
          error: 'ERR_BAD_URL',
          message:
            'the request target is not a valid URL path (control characters are not allowed; percent-encode them)',
        },
      }
    default:
      return {
        status: 400,
        body: {
          error: 'ERR_BAD_REQUEST',
          message: `the request is not valid HTTP/1.1: ${reasonOf(err)}`,
        },
      }
  }
}

function methodOf(raw: unknown): string | undefined {
  const token = Buffer.isBuffer(raw) ? raw.subarray(0, 32).toString('latin1').split(' ', 1)[0]! : ''
  return /^[A-Za-z-]{1,24}$/.test(token) ? token : undefined
}

function reasonOf(err: ParseError): string {
  // llhttp's reasons are short fixed texts ("Invalid header value char"); never echo bytes.
  const reason = typeof err.reason === 'string' ? err.reason : ''
  return /^[\w .,'-]{1,80}$/.test(reason) ? reason.toLowerCase() : (err.code ?? 'malformed')
}

const ANSWERED = Symbol('meshcache.answered')

type AnsweredSocket = Socket & {
  [ANSWERED]?: number
  _httpMessage?: { headersSent?: boolean } | null
}

/**
 * Node's `clientError` handler: answers in the API's shape and closes by lingering.
 * Node calls it again for every chunk that arrives after the error; those calls only
 * enforce the byte bound.
 * @param maxHeaderBytes - the server's `maxHeaderSize`, named in the 431
 */
export function clientErrorHandler(
  limits: LingerLimits,
  maxHeaderBytes: number,
): (error: Error, socket: Socket) => void {
  return (error, rawSocket) => {
    const err = error as ParseError
    const socket = rawSocket as AnsweredSocket
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const answeredAt = socket[ANSWERED]
    if (answeredAt !== undefined) {
      if (socket.bytesRead - answeredAt > limits.maxBytes) socket.destroy()
      return
    }
    socket[ANSWERED] = socket.bytesRead
    // As Node does: never write into a response already under way on this connection.
    if (socket.writable && !socket._httpMessage?.headersSent) {
      endWithAnswer(socket, parseErrorAnswer(err, maxHeaderBytes))
    } else if (socket.writable) {
      socket.end()
    }
    // A client past its timeout is too slow to be waited for: cut at once, as Node does.
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return void socket.destroy()
    closeBy(socket, limits.maxMs)
  }
}

/**
 * Node's `connect` handler. `CONNECT` (a proxy tunnel) is not served; without a handler
 * Node closed the connection with no answer at all. It gets the 501 of every other
 * method the API does not serve, and the connection is closed: what the client still
 * sends (the tunnel's first bytes) is discarded for up to `limits.maxMs`, or until more
 * than `limits.maxBytes` arrived.
 */
export function connectHandler(
  limits: LingerLimits,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (_req, duplex) => {
    const socket = duplex as Socket
    endWithAnswer(socket, notImplemented('CONNECT'))
    const start = socket.bytesRead
    socket.on('data', () => {
      if (socket.bytesRead - start > limits.maxBytes) socket.destroy()
    })
    socket.on('error', () => socket.destroy())
    closeBy(socket, limits.maxMs)
  }
}

/** Writes `answer` in the API's shape straight to the socket, with `Connection: close` and FIN. */
function endWithAnswer(socket: Socket, answer: ErrorAnswer): void {
  const body = JSON.stringify(answer.body)
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  )
}

/** Destroys `socket` at the latest `ms` from now (the client may keep it half open). */
function closeBy(socket: Socket, ms: number): void {
  const deadline = setTimeout(() => socket.destroy(), ms)
  deadline.unref()
  socket.once('close', () => clearTimeout(deadline))
}
