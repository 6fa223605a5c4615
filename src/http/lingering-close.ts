/**
 * Lingering close (nginx's `lingering_close`): after refusing a request whose body is
 * still arriving (413), read and throw away the rest of the body before closing, so the
 * client reads the refusal instead of a reset.
 *
 * Why: a socket closed while unread bytes sit in its receive buffer sends a TCP RST, and
 * a client that gets a RST while it is still sending its body loses the answer already in
 * its own receive buffer (Python's http.client raised `BrokenPipeError`, Node's `fetch`
 * "fetch failed", curl "Send failure" in issue 22). Node closes a `Connection: close`
 * response's socket as soon as the response is written (`socket.destroySoon()`); here
 * that close is replaced, for the refused request's socket only, by: send FIN (the answer
 * is complete), keep reading and discarding until the body ends, the client closes, more
 * than `maxBytes` were discarded or `maxMs` passed, then close.
 * @module
 */
import type { IncomingMessage } from 'node:http'

/** Bounds of a lingering close. */
export interface LingerLimits {
  /** Most body bytes read and discarded after the refusal; past it the connection is cut. */
  maxBytes: number
  /** Longest time the connection stays open after the refusal, ms; then it is cut. */
  maxMs: number
}

const LINGERING = Symbol('meshcache.lingering')

type LingeringRequest = IncomingMessage & { [LINGERING]?: true }

/**
 * Makes the connection of `req` close by lingering. Call it before the refusal is sent,
 * with a response that says `Connection: close` (the client must not reuse the
 * connection: it is closed once the body has been read).
 */
export function lingerAfterRefusal(req: IncomingMessage, limits: LingerLimits): void {
  const request = req as LingeringRequest
  if (request[LINGERING]) return
  request[LINGERING] = true
  const socket = req.socket
  let discarded = 0
  const cut = () => socket.destroy()
  const deadline = setTimeout(cut, limits.maxMs)
  deadline.unref()
  socket.once('close', () => clearTimeout(deadline))
  // A 'data' listener marks the request as consumed: Node does not dump it, and every
  // chunk is counted here.
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > limits.maxBytes) cut()
  })
  req.on('error', () => {}) // a cut or reset connection: nothing to report
  req.resume()
  const closeWhenFlushed = () => {
    clearTimeout(deadline)
    if (socket.writableFinished) socket.destroy()
    else socket.once('finish', () => socket.destroy())
  }
  socket.destroySoon = () => {
    // FIN after the answer: the client knows nothing more comes, and may stop sending.
    if (socket.writable) socket.end()
    // Every byte of the body was read: closing now sends no RST.
    if (req.complete || req.readableEnded) closeWhenFlushed()
    else req.once('end', closeWhenFlushed)
  }
}
