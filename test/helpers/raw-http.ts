import { connect } from 'node:net'

/** What a raw HTTP exchange got back: status, the head (lowercase) and the JSON body. */
export interface RawAnswer {
  status: number
  headers: string
  body: unknown
}

/**
 * Sends `request` as raw bytes to the server at `url`, half-closes, and resolves with the
 * answer once the server closes: for requests a client library would not send (a raw
 * `#`, `CONNECT`, broken framing). Rejects when the answer's body is not JSON.
 */
export function rawHttp(url: string, request: string | Buffer): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  return new Promise<RawAnswer>((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) })
    let text = ''
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const end = text.indexOf('\r\n\r\n')
      const head = text.slice(0, end)
      try {
        resolve({
          status: Number(head.split(' ')[1]),
          headers: head.toLowerCase(),
          body: JSON.parse(text.slice(end + 4)),
        })
      } catch {
        reject(new Error(`not a JSON answer: ${JSON.stringify(text.slice(0, 300))}`))
      }
    })
    socket.end(request)
  })
}
