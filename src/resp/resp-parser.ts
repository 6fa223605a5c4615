/**
 * An incremental parser of Redis requests: RESP arrays of bulk strings (`*2\r\n$3\r\nGET
 * ...`) and inline commands (`GET key\r\n`, as telnet and redis-cli send them). Pure:
 * bytes in, argument lists out, no sockets.
 *
 * Memory is bounded by the limits: a header line is at most 64 KiB, a bulk string at most
 * `maxBulkBytes`, a request at most `maxArrayLength` elements and `maxRequestBytes`, which
 * counts what each element costs held, not only its bytes ({@link RESP_COSTS}): a request
 * of a million empty strings holds ~120 MB. Requests partly received on all connections
 * together draw on one {@link BudgetAccount} each. Past any bound `next()` throws a
 * {@link ProtocolError}, worded as Redis words it, and the connection is closed after
 * replying. A large bulk string is received into a buffer of its own size, so it is
 * copied once however many chunks it arrives in.
 * @module
 */
import type { BudgetAccount } from './request-budget.js'
import { RESP_COSTS, RESP_PROTOCOL } from './resp-defaults.js'

/** A malformed or oversized request; the message is Redis's (`Protocol error: ...`). */
export class ProtocolError extends Error {
  constructor(detail: string) {
    super(`Protocol error: ${detail}`)
    this.name = 'ProtocolError'
  }
}

/** Bounds of one connection's requests. */
export interface ParserLimits {
  /** Largest bulk string, bytes. */
  maxBulkBytes: number
  /** Most elements of one request. */
  maxArrayLength: number
  /**
   * Largest request, bytes: its bulk strings, and {@link RESP_COSTS}.elementBytes for each
   * element (what holding it costs).
   */
  maxRequestBytes: number
}

/** Why a request is refused when the listener's budget is short (see request-budget.ts). */
export const BUDGET_REFUSAL = 'too much memory held by partly received requests of all clients'

const EMPTY = Buffer.alloc(0)
const CR = 13
const LF = 10
const STAR = 42
const DOLLAR = 36

/**
 * Parses a signed decimal integer in `buf[start, end)` strictly (Redis's `string2ll`: no
 * sign but `-`, no blank, no leading zero); undefined when it is not one or has more than
 * 18 digits (every bound here is far below).
 */
export function parseDecimal(buf: Uint8Array, start: number, end: number): number | undefined {
  let i = start
  let negative = false
  if (i < end && buf[i] === 45) {
    negative = true
    i++
  }
  const digits = end - i
  if (digits < 1 || digits > 18) return undefined
  if (digits > 1 && buf[i] === 48) return undefined
  let n = 0
  for (; i < end; i++) {
    const d = buf[i]! - 48
    if (d < 0 || d > 9) return undefined
    n = n * 10 + d
  }
  if (negative && n === 0) return undefined
  return negative ? -n : n
}

/** The parser of one connection. Feed it with {@link push}, take commands with {@link next}. */
export class RespParser {
  #buf: Buffer = EMPTY
  #pos = 0
  /** Elements still expected in the request being read (0: between requests). */
  #argc = 0
  #args: Buffer[] = []
  /** Length of the bulk string being read; -1 while its `$` header is expected. */
  #bulkLen = -1
  /** A large bulk string's own buffer while it arrives, and the bytes (CRLF included) received. */
  #big: Buffer | undefined
  #bigFill = 0
  /** What the request being read costs so far (see {@link ParserLimits.maxRequestBytes}). */
  #requestBytes = 0
  #limits: ParserLimits
  /** Before `AUTH`, Redis's small bounds apply. */
  #authenticated: boolean
  /** The connection's share of the listener's budget of partly received requests. */
  readonly #account: BudgetAccount | undefined

  /** @param account - draws the request being read from a budget shared with other connections */
  constructor(limits: ParserLimits, authenticated = true, account?: BudgetAccount) {
    this.#limits = limits
    this.#authenticated = authenticated
    this.#account = account
  }

  /** Lifts (or restores) the bounds of unauthenticated clients. */
  set authenticated(value: boolean) {
    this.#authenticated = value
  }

  /** Bytes received and not yet returned as commands. */
  get buffered(): number {
    return this.#buf.length - this.#pos + (this.#big === undefined ? 0 : this.#bigFill)
  }

  /**
   * Drops everything received and not returned (the connection is closing): the budget
   * it was charged to is released at once, and the memory goes with it, not when the
   * socket is destroyed after its grace. The parser is unusable after.
   */
  discard(): void {
    this.#buf = EMPTY
    this.#pos = 0
    this.#args = []
    this.#big = undefined
    this.#bigFill = 0
    this.#account?.release()
  }

  /** Appends received bytes. */
  push(chunk: Buffer): void {
    let data = chunk
    const big = this.#big
    if (big !== undefined) {
      const want = this.#bulkLen + 2 - this.#bigFill
      const take = Math.min(want, data.length)
      // The bytes go to the buffer; the closing CRLF is counted and skipped (as Redis does).
      const room = this.#bulkLen - this.#bigFill
      if (room > 0) data.copy(big, this.#bigFill, 0, Math.min(take, room))
      this.#bigFill += take
      data = data.subarray(take)
      if (data.length === 0) return
    }
    if (this.#pos >= this.#buf.length) {
      this.#buf = data
      this.#pos = 0
    } else {
      // Only a partial header or a small partial bulk is ever carried over.
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), data])
      this.#pos = 0
    }
  }

  /**
   * The next complete command (its arguments, which may share memory with received
   * chunks: copy what you keep), or undefined until more bytes arrive.
   * @throws ProtocolError for a malformed or oversized request; the parser is unusable after
   */
  next(): Buffer[] | undefined {
    for (;;) {
      if (this.#big !== undefined) {
        if (this.#bigFill < this.#bulkLen + 2) return undefined
        this.#args.push(this.#big)
        this.#big = undefined
        this.#bigFill = 0
        this.#bulkLen = -1
        if (--this.#argc === 0) return this.#take()
      }
      if (this.#argc === 0) {
        const buf = this.#buf
        const pos = this.#pos
        if (pos >= buf.length) return undefined
        if (buf[pos] !== STAR) {
          const line = this.#inlineLine()
          if (line === undefined) return undefined
          const args = splitInline(line)
          if (args.length > 0) return args
          continue
        }
        if (!this.#arrayHeader()) return undefined
        if (this.#argc === 0) continue
      }
      if (!this.#readElements()) return undefined
      return this.#take()
    }
  }

  #take(): Buffer[] {
    const args = this.#args
    this.#args = []
    this.#requestBytes = 0
    // The command owns its arguments now: the connection runs one at a time.
    this.#account?.release()
    return args
  }

  /** The next inline line without its line end, or undefined while incomplete. */
  #inlineLine(): Buffer | undefined {
    const buf = this.#buf
    const pos = this.#pos
    const nl = buf.indexOf(LF, pos)
    if (nl === -1) {
      if (buf.length - pos > RESP_PROTOCOL.maxInlineBytes)
        throw new ProtocolError('too big inline request')
      return undefined
    }
    if (nl - pos > RESP_PROTOCOL.maxInlineBytes) throw new ProtocolError('too big inline request')
    this.#pos = nl + 1
    const end = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl
    return buf.subarray(pos, end)
  }

  /** Reads `*<n>\r\n`. @returns false while incomplete */
  #arrayHeader(): boolean {
    const buf = this.#buf
    const pos = this.#pos
    const cr = buf.indexOf(CR, pos)
    if (cr === -1 || cr + 1 >= buf.length) {
      if (buf.length - pos > RESP_PROTOCOL.maxInlineBytes)
        throw new ProtocolError('too big mbulk count string')
      return false
    }
    if (cr - pos > RESP_PROTOCOL.maxInlineBytes)
      throw new ProtocolError('too big mbulk count string')
    const n = parseDecimal(buf, pos + 1, cr)
    if (n === undefined) throw new ProtocolError('invalid multibulk length')
    if (!this.#authenticated && n > RESP_PROTOCOL.unauthenticatedArrayLength)
      throw new ProtocolError('unauthenticated multibulk length')
    if (n > this.#limits.maxArrayLength) throw new ProtocolError('invalid multibulk length')
    this.#pos = cr + 2
    // `*0` and `*-1` are empty requests: skipped, as Redis does.
    if (n > 0) {
      this.#argc = n
      this.#args = []
      this.#requestBytes = 0
    }
    return true
  }

  /** Reads the elements of the current request. @returns false while incomplete */
  #readElements(): boolean {
    const buf = this.#buf
    let pos = this.#pos
    while (this.#argc > 0) {
      if (this.#bulkLen < 0) {
        if (pos >= buf.length) break
        const cr = buf.indexOf(CR, pos)
        if (cr === -1 || cr + 1 >= buf.length) {
          if (buf.length - pos > RESP_PROTOCOL.maxInlineBytes)
            throw new ProtocolError('too big bulk count string')
          break
        }
        if (buf[pos] !== DOLLAR) {
          throw new ProtocolError(`expected '$', got '${String.fromCharCode(buf[pos]!)}'`)
        }
        const len = parseDecimal(buf, pos + 1, cr)
        if (
          !this.#authenticated &&
          len !== undefined &&
          len > RESP_PROTOCOL.unauthenticatedBulkBytes
        )
          throw new ProtocolError('unauthenticated bulk length')
        if (len === undefined || len < 0 || len > this.#limits.maxBulkBytes)
          throw new ProtocolError('invalid bulk length')
        // Counted before anything is held (a big bulk string is allocated just below).
        const cost = len + RESP_COSTS.elementBytes
        this.#requestBytes += cost
        if (this.#requestBytes > this.#limits.maxRequestBytes)
          throw new ProtocolError(`request over ${this.#limits.maxRequestBytes} bytes`)
        if (this.#account !== undefined && !this.#account.take(cost))
          throw new ProtocolError(BUDGET_REFUSAL)
        pos = cr + 2
        this.#bulkLen = len
        const available = buf.length - pos
        if (len >= RESP_PROTOCOL.bigBulkBytes && available < len + 2) {
          // Receive it into its own buffer: later chunks are copied there once.
          const big = Buffer.allocUnsafe(len)
          buf.copy(big, 0, pos, pos + Math.min(available, len))
          this.#big = big
          this.#bigFill = available
          this.#buf = EMPTY
          this.#pos = 0
          return false
        }
      }
      const len = this.#bulkLen
      if (buf.length - pos < len + 2) break
      this.#args.push(buf.subarray(pos, pos + len))
      pos += len + 2
      this.#bulkLen = -1
      this.#argc--
    }
    this.#pos = pos
    return this.#argc === 0
  }
}

const HEX = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1

/** C's isspace: blank, \t, \n, \v, \f, \r. */
const isSpace = (c: number | undefined): boolean =>
  c === 32 || (c !== undefined && c >= 9 && c <= 13)

/**
 * Splits an inline command line into arguments the way Redis does (`sdssplitargs`):
 * blanks separate arguments; `"..."` takes `\n \r \t \b \a \\ \"` and `\xHH` escapes;
 * `'...'` takes `\'`; a closing quote must be followed by a blank or the end; a NUL byte
 * ends the line.
 * @throws ProtocolError `unbalanced quotes in request`
 */
export function splitInline(line: Uint8Array): Buffer[] {
  const args: Buffer[] = []
  // Redis splits a C string: a NUL byte ends the line.
  const nul = line.indexOf(0)
  const n = nul === -1 ? line.length : nul
  let i = 0
  for (;;) {
    while (i < n && isSpace(line[i])) i++
    if (i >= n) return args
    const out: number[] = []
    let inDouble = false
    let inSingle = false
    for (;;) {
      if (inDouble) {
        if (i >= n) throw new ProtocolError('unbalanced quotes in request')
        const c = line[i]!
        if (c === 92 && line[i + 1] === 120 && i + 3 < n) {
          const hi = HEX(line[i + 2]!)
          const lo = HEX(line[i + 3]!)
          if (hi >= 0 && lo >= 0) {
            out.push(hi * 16 + lo)
            i += 4
            continue
          }
        }
        if (c === 92 && i + 1 < n) {
          const e = line[i + 1]!
          out.push(
            e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e,
          )
          i += 2
          continue
        }
        if (c === 34) {
          if (i + 1 < n && !isSpace(line[i + 1]))
            throw new ProtocolError('unbalanced quotes in request')
          i++
          break
        }
        out.push(c)
        i++
      } else if (inSingle) {
        if (i >= n) throw new ProtocolError('unbalanced quotes in request')
        const c = line[i]!
        if (c === 92 && line[i + 1] === 39) {
          out.push(39)
          i += 2
          continue
        }
        if (c === 39) {
          if (i + 1 < n && !isSpace(line[i + 1]))
            throw new ProtocolError('unbalanced quotes in request')
          i++
          break
        }
        out.push(c)
        i++
      } else {
        if (i >= n) break
        const c = line[i]!
        if (c === 32 || c === 10 || c === 13 || c === 9) {
          i++
          break
        }
        if (c === 34) inDouble = true
        else if (c === 39) inSingle = true
        else out.push(c)
        i++
      }
    }
    args.push(Buffer.from(out))
  }
}
