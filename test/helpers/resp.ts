/**
 * A raw RESP client for tests: sends exact bytes, reads exact replies (no client library
 * between the test and the wire), so tests see what a Redis client would see.
 */
import { connect, type Socket } from 'node:net'

/** Length of the first complete reply in `buf` from `at`, or -1 while incomplete. */
function replyEnd(buf: Buffer, at: number): number {
  if (at >= buf.length) return -1
  const nl = buf.indexOf('\r\n', at)
  if (nl === -1) return -1
  const type = String.fromCharCode(buf[at]!)
  const head = buf.toString('latin1', at + 1, nl)
  const after = nl + 2
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
      return after
    case '$':
    case '=':
    case '!': {
      const n = Number(head)
      if (n < 0) return after
      return buf.length >= after + n + 2 ? after + n + 2 : -1
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      let n = Number(head)
      if (n < 0) return after
      if (type === '%') n *= 2
      let pos = after
      for (let i = 0; i < n; i++) {
        pos = replyEnd(buf, pos)
        if (pos === -1) return -1
      }
      return pos
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(buf.toString('latin1', at, at + 40))}`)
  }
}

/** Encodes a command as a RESP array of bulk strings. */
export function command(...args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : Buffer.from(a)
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** One raw connection. */
export class RawResp {
  readonly socket: Socket
  #buf = Buffer.alloc(0)
  #closed = false
  #wake: (() => void) | undefined

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d])
      this.#wake?.()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#wake?.()
    })
    socket.on('error', () => {})
  }

  /** Connects to host:port. */
  static open(host: string, port: number): Promise<RawResp> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => resolve(new RawResp(s)))
      s.once('error', reject)
    })
  }

  /** True once the server closed the connection (and everything was read). */
  get closed(): boolean {
    return this.#closed
  }

  /** Sends bytes as they are. */
  send(bytes: string | Buffer): void {
    this.socket.write(bytes)
  }

  /** The next reply, raw (RESP text, latin1). @throws after `timeoutMs` or on close */
  async reply(timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const end = replyEnd(this.#buf, 0)
      if (end !== -1) {
        const out = this.#buf.toString('latin1', 0, end)
        this.#buf = this.#buf.subarray(end)
        return out
      }
      if (this.#closed)
        throw new Error(`connection closed; unread: ${this.#buf.toString('latin1')}`)
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(
          `no reply within ${timeoutMs} ms; have: ${this.#buf.toString('latin1', 0, 200)}`,
        )
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }

  /** Sends a command and returns its raw reply. */
  async call(...args: (string | Uint8Array)[]): Promise<string> {
    this.send(command(...args))
    return this.reply()
  }

  /** Waits for the server to close; returns everything it sent that was not read. */
  async untilClosed(timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    while (!this.#closed) {
      if (Date.now() > deadline) throw new Error(`still open after ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50)
        this.#wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.#wake = undefined
    }
    return this.#buf.toString('latin1')
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy()
  }
}

/** A redis-server child process (no persistence) on host:port, for differential tests. */
export async function startRedisServer(
  host: string,
  port: number,
): Promise<{ stop: () => Promise<void> }> {
  const { spawn } = await import('node:child_process')
  const proc = spawn(
    'redis-server',
    [
      '--bind',
      host,
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    { stdio: 'ignore' },
  )
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', (err) =>
      reject(new Error(`redis-server cannot start (apt-get install redis-server): ${err.message}`)),
    )
    proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)))
  })
  failed.catch(() => {})
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      const c = await Promise.race([RawResp.open(host, port), failed])
      const pong = await c.call('PING')
      c.close()
      if (pong === '+PONG\r\n') break
    } catch (err) {
      if ((err as Error).message.includes('redis-server') || Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve()
        proc.once('exit', () => resolve())
        proc.kill('SIGKILL')
      }),
  }
}
