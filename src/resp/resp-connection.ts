/**
 * One client connection: bytes in, commands run in order, replies out. Requests are
 * parsed and run one at a time; a command that waits (a write's promise, `WAIT`) holds
 * the ones after it, so replies keep the order of requests. Output is bounded: past
 * `outputPauseBytes` queued the connection stops reading until the client reads (a slow
 * reader costs no more memory); past `maxOutputBytes` it is closed. Input is bounded by
 * the parser, per request and across connections (a {@link RequestBudget}).
 * @module
 */
import type { Socket } from 'node:net'
import { MeshcacheError } from '../errors.js'
import { allowedBeforeAuth, lookupCommand } from './command-table.js'
import { ReplyWriter } from './reply-writer.js'
import type { BudgetAccount, RequestBudget } from './request-budget.js'
import { RESP_DEFAULTS } from './resp-defaults.js'
import { arityError, REDIS_ERRORS, RespError, unknownCommand } from './resp-error.js'
import { BUDGET_REFUSAL, ProtocolError, RespParser } from './resp-parser.js'
import { type ServerContext, Session } from './session.js'

/** Bounds of one connection. */
export interface ConnectionLimits {
  maxBulkBytes: number
  maxArrayLength: number
  maxRequestBytes: number
  outputPauseBytes: number
  maxOutputBytes: number
}

function address(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return '?:0'
  return `${host.includes(':') ? `[${host}]` : host}:${port ?? 0}`
}

/** A client connection of a RESP listener. */
export class RespConnection {
  readonly session: Session
  readonly #socket: Socket
  readonly #parser: RespParser
  /** This connection's share of the budget of partly received requests. */
  readonly #account: BudgetAccount
  readonly #out: ReplyWriter
  readonly #server: ServerContext
  readonly #limits: ConnectionLimits
  #busy = false
  /** True while the running command may wait long (`WAIT`). */
  #blocking = false
  #paused = false
  /** True while input is not read because a command has not answered (`inputPauseBytes`). */
  #inputHeld = false
  #closed = false

  /** @param budget - the listener's budget of partly received requests */
  constructor(
    socket: Socket,
    id: number,
    server: ServerContext,
    limits: ConnectionLimits,
    budget: RequestBudget,
    onClose: (c: RespConnection) => void,
  ) {
    this.#socket = socket
    this.#server = server
    this.#limits = limits
    this.#out = new ReplyWriter()
    this.session = new Session(
      id,
      server,
      this.#out,
      address(socket.remoteAddress, socket.remotePort),
      address(socket.localAddress, socket.localPort),
    )
    // Another connection short of budget may close this one, when its request is the largest.
    // Clients without the password give way to those with it (request-budget.ts).
    this.#account = budget.open(
      () => this.#protocolError(new ProtocolError(BUDGET_REFUSAL)),
      () => this.session.authenticated,
    )
    this.#parser = new RespParser(limits, this.session.authenticated, this.#account)
    this.session.buffers = () => ({
      qbuf: this.#parser.buffered,
      omem: this.#out.size + socket.writableLength,
    })
    this.session.onAuthChange = (ok) => {
      this.#parser.authenticated = ok
    }
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('drain', () => this.#onDrain())
    // A reset by the client: 'close' follows and cleans up.
    socket.on('error', () => {})
    socket.once('close', () => {
      this.#closed = true
      this.#account.release()
      onClose(this)
    })
  }

  /** Closes the connection at once (the listener stops). */
  destroy(): void {
    this.#closed = true
    this.#account.release()
    this.#socket.destroy()
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return
    this.session.lastActiveAt = this.#server.clock.monotonic()
    this.#parser.push(chunk)
    if (this.#busy && this.#parser.buffered > RESP_DEFAULTS.inputPauseBytes) {
      this.#inputHeld = true
      this.#socket.pause()
    }
    this.#drive()
  }

  #onDrain(): void {
    if (!this.#paused || this.#closed) return
    this.#paused = false
    if (!this.#inputHeld) this.#socket.resume()
    this.#drive()
  }

  /** The command that held input back answered: read again (unless output holds it). */
  #releaseInput(): void {
    if (!this.#inputHeld) return
    this.#inputHeld = false
    if (!this.#paused && !this.#closed) this.#socket.resume()
  }

  /** Runs the commands received, in order, until input runs out or a command waits. */
  #drive(): void {
    while (!this.#busy && !this.#paused && !this.#closed) {
      let args: Buffer[] | undefined
      try {
        args = this.#parser.next()
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
        this.#protocolError(err)
        return
      }
      if (args === undefined) break
      const pending = this.#execute(args)
      if (pending !== undefined) {
        this.#busy = true
        // A write settles within this turn: its reply joins the pipeline's one socket write.
        // Only a command that may wait long sends what is ready first.
        if (this.#blocking) this.#flush()
        pending.then(() => {
          this.#busy = false
          this.#releaseInput()
          if (this.#afterCommand()) this.#drive()
        })
        return
      }
      if (!this.#afterCommand()) return
    }
    this.#flush()
  }

  /** Runs one command. @returns a promise when it has not answered yet */
  #execute(args: Buffer[]): Promise<void> | undefined {
    const s = this.session
    const stats = this.#server.stats
    const spec = lookupCommand(args[0]!)
    const counter = stats.command(spec === undefined ? 'unknown' : spec.name)
    const clock = this.#server.clock
    const start = clock.monotonic()
    try {
      if (spec === undefined) throw unknownCommand(args)
      if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity) {
        throw arityError(spec.name)
      }
      if (!s.authenticated && !allowedBeforeAuth(spec)) throw new RespError(REDIS_ERRORS.noAuth)
      s.lastCommand = spec.name
      this.#blocking = spec.blocks === true
      const pending = spec.run(s, args)
      if (pending === undefined) {
        counter.record((clock.monotonic() - start) / 1000, false)
        return undefined
      }
      return pending.then(
        () => counter.record((clock.monotonic() - start) / 1000, false),
        (err: unknown) => {
          this.#replyError(err)
          counter.record((clock.monotonic() - start) / 1000, true)
        },
      )
    } catch (err) {
      this.#replyError(err)
      counter.record((clock.monotonic() - start) / 1000, true)
      return undefined
    }
  }

  #replyError(err: unknown): void {
    if (err instanceof RespError) {
      this.#out.error(err.message)
      return
    }
    if (err instanceof MeshcacheError) {
      this.#out.error(`ERR ${err.message}`)
      return
    }
    this.#server.log(err, 'resp command failed')
    this.#out.error('ERR internal error; the node logged it')
  }

  /** After a command: close on QUIT, bound the output. @returns false when input must wait */
  #afterCommand(): boolean {
    if (this.#closed) return false
    if (this.session.closeAfterReply) {
      this.#flush()
      this.#close()
      return false
    }
    const queued = this.#out.size + this.#socket.writableLength
    if (queued > this.#limits.maxOutputBytes) {
      this.#server.stats.outputLimitCloses++
      this.#out.discard()
      // Likely never read (the client does not read): sent for the record, then cut.
      this.#socket.write(
        `-ERR output buffer over ${this.#limits.maxOutputBytes} bytes: the client does not read its replies; closing\r\n`,
      )
      this.destroy()
      return false
    }
    if (queued > this.#limits.outputPauseBytes) {
      this.#flush()
      if (this.#socket.writableLength > this.#limits.outputPauseBytes) {
        this.#paused = true
        this.#socket.pause()
        return false
      }
    }
    return true
  }

  #protocolError(err: ProtocolError): void {
    this.#server.stats.protocolErrors++
    this.#out.error(`ERR ${err.message}`)
    this.#flush()
    this.#close()
  }

  /**
   * Ends the connection once its replies are out, reading nothing more (a client still
   * sending a 64 MB value costs no memory); cut after a grace if the client does not read.
   */
  #close(): void {
    this.#closed = true
    // The request being read is dropped: its memory is the next request's, anywhere.
    this.#parser.discard()
    this.#socket.pause()
    this.#socket.end()
    this.#server.clock.after(RESP_DEFAULTS.closeGraceMs, () => this.#socket.destroy())
  }

  #flush(): void {
    if (this.#out.size === 0) return
    const chunks = this.#out.take()
    const socket = this.#socket
    if (socket.destroyed) return
    if (chunks.length === 1) {
      socket.write(chunks[0]!)
      return
    }
    socket.cork()
    for (const c of chunks) socket.write(c)
    socket.uncork()
  }
}
