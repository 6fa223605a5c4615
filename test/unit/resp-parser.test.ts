import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtocolError, RespParser, splitInline } from '../../src/resp/resp-parser.js'

const LIMITS = { maxBulkBytes: 1 << 20, maxArrayLength: 1000, maxRequestBytes: 4 << 20 }

/** A command as a RESP array of bulk strings. */
function encode(args: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args)
    parts.push(Buffer.from(`$${a.length}\r\n`), Buffer.from(a), Buffer.from('\r\n'))
  return Buffer.concat(parts)
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** Feeds `bytes` cut at `cuts` and collects every command (as arrays of byte arrays). */
function parseInChunks(bytes: Buffer, cuts: number[], authenticated = true): string[][] {
  const p = new RespParser(LIMITS, authenticated)
  const out: string[][] = []
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  let prev = 0
  for (const at of [...points, bytes.length]) {
    p.push(bytes.subarray(prev, at))
    prev = at
    for (let cmd = p.next(); cmd !== undefined; cmd = p.next()) out.push(cmd.map(hex))
  }
  return out
}

const arg = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 8 },
  // Large enough to take the big-bulk path (received into its own buffer).
  {
    arbitrary: fc.integer({ min: 32 * 1024, max: 70 * 1024 }).map((n) => new Uint8Array(n).fill(7)),
    weight: 1,
  },
)
const command = fc.array(arg, { minLength: 1, maxLength: 6 })

describe('RespParser', () => {
  it('parses any pipeline of commands the same however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(command, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (commands, cuts) => {
          const bytes = Buffer.concat(commands.map(encode))
          const expected = commands.map((c) => c.map(hex))
          expect(parseInChunks(bytes, cuts)).toEqual(expected)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('returns arguments that stay valid after later chunks arrive', () => {
    const p = new RespParser(LIMITS)
    p.push(Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nabc\r\n*1\r\n$4\r\nPI'))
    const first = p.next()!
    expect(p.next()).toBeUndefined()
    p.push(Buffer.from('NG\r\n'))
    expect(p.next()!.map(String)).toEqual(['PING'])
    expect(first.map(String)).toEqual(['GET', 'abc'])
  })

  it('skips empty requests and empty inline lines, as Redis does', () => {
    expect(parseInChunks(Buffer.from('*0\r\n*-1\r\n\r\n\r\nPING\r\n'), [])).toEqual([
      [hex(Buffer.from('PING'))],
    ])
  })

  it('refuses oversized and malformed headers with Redis words', () => {
    const error = (bytes: string | Buffer, authenticated = true) => {
      try {
        parseInChunks(Buffer.from(bytes), [], authenticated)
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError)
        return (err as Error).message
      }
      return 'no error'
    }
    expect(error('*1\r\n$1099511627776\r\n')).toBe('Protocol error: invalid bulk length')
    expect(error('*100000000\r\n')).toBe('Protocol error: invalid multibulk length')
    expect(error('*abc\r\n')).toBe('Protocol error: invalid multibulk length')
    expect(error('*1\r\n$-1\r\n')).toBe('Protocol error: invalid bulk length')
    expect(error('*1\r\nxfoo\r\n')).toBe("Protocol error: expected '$', got 'x'")
    expect(error(Buffer.alloc(70_000, 97))).toBe('Protocol error: too big inline request')
    expect(error(`*${'1'.repeat(70_000)}`)).toBe('Protocol error: too big mbulk count string')
    expect(error(`*1\r\n$${'1'.repeat(70_000)}`)).toBe('Protocol error: too big bulk count string')
    expect(error('GET "abc\r\n')).toBe('Protocol error: unbalanced quotes in request')
    expect(error('*11\r\n', false)).toBe('Protocol error: unauthenticated multibulk length')
    expect(error('*1\r\n$20000\r\n', false)).toBe('Protocol error: unauthenticated bulk length')
  })

  it('never buffers more than a header line while waiting for one', () => {
    const p = new RespParser(LIMITS)
    p.push(Buffer.from('*1\r\n$5'))
    expect(p.next()).toBeUndefined()
    expect(p.buffered).toBeLessThan(10)
  })

  it('survives any garbage: a command list or a ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseInChunks(Buffer.from(bytes), [3, 17])
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError)
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('splitInline (Redis sdssplitargs)', () => {
  const split = (line: string) =>
    splitInline(Buffer.from(line, 'latin1')).map((b) => b.toString('latin1'))
  it('splits on blanks and reads quotes and escapes', () => {
    expect(split('set a "x\\x41\\n" ')).toEqual(['set', 'a', 'xA\n'])
    expect(split("set 'it\\'s' b")).toEqual(['set', "it's", 'b'])
    expect(split('  get\tk  ')).toEqual(['get', 'k'])
    expect(split('ping "a b"')).toEqual(['ping', 'a b'])
  })
  it('ends the line at a NUL byte, as Redis reads a C string', () => {
    expect(split('\u0000\u00ff garbage')).toEqual([])
    expect(split('get k\u0000 more')).toEqual(['get', 'k'])
  })
  it('refuses a quote not followed by a blank', () => {
    expect(() => split('get "a"b')).toThrow('unbalanced quotes')
  })
})
