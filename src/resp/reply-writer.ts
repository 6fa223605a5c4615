/**
 * Encodes replies in RESP2 or RESP3 into a connection's pending output. Small replies are
 * copied into a shared slab (one socket write for a whole pipeline); large bulk strings
 * are queued by reference (values are never mutated once stored).
 * @module
 */

/** Protocol version of a connection: 2 until `HELLO 3`. */
export type Protocol = 2 | 3

const SLAB_BYTES = 16 * 1024
/** Bulk strings at least this long are queued by reference instead of copied. */
const BY_REFERENCE_BYTES = 4 * 1024
const CRLF = Buffer.from('\r\n')
const CONSTANTS = {
  ok: Buffer.from('+OK\r\n'),
  null2: Buffer.from('$-1\r\n'),
  nullArray2: Buffer.from('*-1\r\n'),
  null3: Buffer.from('_\r\n'),
  empty: Buffer.from('*0\r\n'),
}

/** The pending output of one connection, and the RESP encoders writing to it. */
export class ReplyWriter {
  /** Encoding of nulls and maps. */
  protocol: Protocol = 2
  #chunks: Buffer[] = []
  #slab: Buffer = Buffer.allocUnsafe(SLAB_BYTES)
  /** Start of the bytes of the slab not yet handed out. */
  #start = 0
  #end = 0
  #size = 0

  /** Bytes written and not yet taken. */
  get size(): number {
    return this.#size
  }

  /** Takes the pending output (in order) and leaves the writer empty. */
  take(): Buffer[] {
    this.#cut()
    const out = this.#chunks
    this.#chunks = []
    this.#size = 0
    return out
  }

  /** Drops the pending output (the connection is being closed). */
  discard(): void {
    this.#chunks = []
    this.#start = this.#end
    this.#size = 0
  }

  /** `+OK` */
  ok(): void {
    this.#copy(CONSTANTS.ok)
  }

  /** A simple string (`+text`): no CR or LF allowed. */
  simple(text: string): void {
    this.#ascii(43, text)
  }

  /** An error (`-ERR text`): CR and LF become blanks, as Redis does. */
  error(text: string): void {
    this.#ascii(45, /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, ' ') : text)
  }

  /** An integer (`:n`). */
  integer(n: number | bigint): void {
    this.#ascii(58, String(n))
  }

  /** A bulk string of bytes, or a null for undefined. */
  bulk(bytes: Uint8Array | undefined): void {
    if (bytes === undefined) {
      this.nil()
      return
    }
    const len = bytes.length
    this.#header(36, len)
    if (len >= BY_REFERENCE_BYTES) {
      this.#cut()
      this.#chunks.push(
        Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, len),
      )
      this.#size += len
      this.#copy(CRLF)
    } else {
      this.#room(len + 2)
      const slab = this.#slab
      if (len <= 16) for (let i = 0; i < len; i++) slab[this.#end + i] = bytes[i]!
      else slab.set(bytes, this.#end)
      this.#end += len
      this.#slab[this.#end++] = 13
      this.#slab[this.#end++] = 10
      this.#size += len + 2
    }
  }

  /** A bulk string of text (UTF-8). */
  bulkText(text: string): void {
    this.bulk(Buffer.from(text, 'utf8'))
  }

  /** A null: `$-1` in RESP2, `_` in RESP3. */
  nil(): void {
    this.#copy(this.protocol === 3 ? CONSTANTS.null3 : CONSTANTS.null2)
  }

  /** A null array: `*-1` in RESP2, `_` in RESP3. */
  nilArray(): void {
    this.#copy(this.protocol === 3 ? CONSTANTS.null3 : CONSTANTS.nullArray2)
  }

  /** The header of an array of `n` elements (write them next). */
  array(n: number): void {
    if (n === 0) this.#copy(CONSTANTS.empty)
    else this.#header(42, n)
  }

  /** The header of a map of `n` pairs: `%n` in RESP3, an array of 2n elements in RESP2. */
  map(n: number): void {
    if (this.protocol === 3) this.#header(37, n)
    else this.array(2 * n)
  }

  /** An array of bulk strings. */
  bulks(items: readonly (Uint8Array | undefined)[]): void {
    this.array(items.length)
    for (const b of items) this.bulk(b)
  }

  #header(type: number, n: number): void {
    this.#ascii(type, String(n))
  }

  /** `type` byte, ASCII text, CRLF. */
  #ascii(type: number, text: string): void {
    const len = text.length
    // Non-ASCII text (a client name, a message quoting a key) is written as UTF-8.
    const bytes = Buffer.byteLength(text, 'utf8')
    this.#room(bytes + 3)
    const slab = this.#slab
    slab[this.#end++] = type
    if (bytes === len) {
      for (let i = 0; i < len; i++) slab[this.#end + i] = text.charCodeAt(i)
    } else {
      slab.write(text, this.#end, 'utf8')
    }
    this.#end += bytes
    slab[this.#end++] = 13
    slab[this.#end++] = 10
    this.#size += bytes + 3
  }

  #copy(bytes: Uint8Array): void {
    const n = bytes.length
    this.#room(n)
    const slab = this.#slab
    // A few bytes are copied faster by hand than through TypedArray#set.
    if (n <= 16) for (let i = 0; i < n; i++) slab[this.#end + i] = bytes[i]!
    else slab.set(bytes, this.#end)
    this.#end += n
    this.#size += n
  }

  /** Makes room for `n` bytes in the slab, starting a new one when it is full. */
  #room(n: number): void {
    if (this.#end + n <= this.#slab.length) return
    this.#cut()
    this.#slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, n))
    this.#start = 0
    this.#end = 0
  }

  /** Queues the slab's written bytes as a chunk (the socket may hold them: never rewritten). */
  #cut(): void {
    if (this.#end > this.#start) {
      this.#chunks.push(this.#slab.subarray(this.#start, this.#end))
      this.#start = this.#end
    }
  }
}
