/**
 * The memory a partly received request may hold: per request (`maxRequestBytes` counts
 * what each element costs held, not only its bytes) and across connections (one
 * budget; when short, the client holding the most is closed).
 */
import { describe, expect, it } from 'vitest'
import { RequestBudget } from '../../src/resp/request-budget.js'
import { RESP_COSTS, RESP_DEFAULTS } from '../../src/resp/resp-defaults.js'
import {
  BUDGET_REFUSAL,
  type ParserLimits,
  ProtocolError,
  RespParser,
} from '../../src/resp/resp-parser.js'

const DEFAULTS: ParserLimits = {
  maxBulkBytes: RESP_DEFAULTS.maxBulkBytes,
  maxArrayLength: RESP_DEFAULTS.maxArrayLength,
  maxRequestBytes: RESP_DEFAULTS.maxRequestBytes,
}

/** `count` bulk strings of `size` bytes, as one buffer. */
function elements(count: number, size = 0): Buffer {
  const one = Buffer.from(`$${size}\r\n${'x'.repeat(size)}\r\n`)
  return Buffer.concat(Array.from({ length: count }, () => one))
}

/**
 * Sends `*n` then `MGET` then empty strings in socket-sized chunks, never finishing.
 * @returns how many elements the parser held when it refused the request
 */
function feedEmpties(p: RespParser, n: number): { held: number; error: unknown } {
  p.push(Buffer.from(`*${n}\r\n$4\r\nMGET\r\n`))
  const perChunk = 10_000
  const chunk = elements(perChunk)
  let held = 1
  try {
    while (held < n - 1) {
      const k = Math.min(perChunk, n - 1 - held)
      p.push(Buffer.from(chunk.subarray(0, k * 6)))
      expect(p.next()).toBeUndefined()
      held += k
    }
  } catch (err) {
    return { held, error: err }
  }
  return { held, error: undefined }
}

describe('RespParser: memory of one request', () => {
  it('refuses a request of many empty strings before it holds more than maxRequestBytes', () => {
    const limits = { maxBulkBytes: 1 << 20, maxArrayLength: 1 << 20, maxRequestBytes: 1 << 20 }
    const p = new RespParser(limits)
    const { held, error } = feedEmpties(p, 1 << 20)
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as Error).message).toBe('Protocol error: request over 1048576 bytes')
    // Each element held costs elementBytes (measured: ~106 bytes of heap and its header).
    expect(held * RESP_COSTS.elementBytes).toBeLessThanOrEqual(limits.maxRequestBytes)
    expect(held).toBeGreaterThan(limits.maxRequestBytes / RESP_COSTS.elementBytes - 10_001)
  })

  it('with the defaults, the reproduced request (*1048576, then empty strings) is refused at once', () => {
    const p = new RespParser(DEFAULTS)
    p.push(Buffer.from('*1048576\r\n$4\r\nMGET\r\n'))
    expect(() => p.next()).toThrow('Protocol error: invalid multibulk length')
    // What the defaults let one request hold, every element counted at its cost.
    expect(DEFAULTS.maxArrayLength * RESP_COSTS.elementBytes).toBeLessThanOrEqual(
      DEFAULTS.maxRequestBytes,
    )
  })

  it('still parses a large MGET and a large MSET within the defaults', () => {
    const p = new RespParser(DEFAULTS)
    const keys = 200_000
    p.push(Buffer.concat([Buffer.from(`*${keys + 1}\r\n$4\r\nMGET\r\n`), elements(keys, 12)]))
    expect(p.next()).toHaveLength(keys + 1)
    const pairs = 50_000
    p.push(Buffer.from(`*${2 * pairs + 1}\r\n$4\r\nMSET\r\n`))
    p.push(elements(2 * pairs, 100))
    const mset = p.next()!
    expect(mset).toHaveLength(2 * pairs + 1)
    expect(mset[2]!.toString()).toBe('x'.repeat(100))
  })
})

describe('RespParser: one budget across connections', () => {
  const limits = { maxBulkBytes: 1 << 20, maxArrayLength: 1 << 20, maxRequestBytes: 1 << 20 }
  const start = (budget: RequestBudget, onEvict: () => void = () => {}) => {
    // As a connection does: closed, it releases its share.
    const account = budget.open(() => {
      onEvict()
      account.release()
    })
    return { parser: new RespParser(limits, true, account), account }
  }

  it('closes the client holding the most when another needs room, and frees its share', () => {
    const budget = new RequestBudget(600_000)
    let evicted = 0
    const hoarder = start(budget, () => evicted++)
    hoarder.parser.push(Buffer.from('*100000\r\n'))
    hoarder.parser.push(elements(3_000))
    expect(hoarder.parser.next()).toBeUndefined()
    expect(hoarder.account.held).toBe(3_000 * RESP_COSTS.elementBytes)
    // A smaller request that does not fit beside it: the hoarder goes, the request is served.
    const good = start(budget)
    good.parser.push(Buffer.concat([Buffer.from('*1001\r\n$4\r\nMGET\r\n'), elements(1_000, 100)]))
    expect(good.parser.next()).toHaveLength(1_001)
    expect(evicted).toBe(1)
    expect(hoarder.account.held).toBe(0)
    // Served requests give their share back.
    expect(good.account.held).toBe(0)
    expect(budget.used).toBe(0)
  })

  it('closes clients without the password first: they cannot get an authenticated client closed', () => {
    const budget = new RequestBudget(600_000)
    const closed: string[] = []
    // Many small hoarders that never authenticated, then an authenticated client whose
    // request is larger than any of them: it used to be refused (it would hold the most).
    const hoarders = Array.from({ length: 4 }, (_, i) => {
      const account = budget.open(
        () => {
          closed.push(`hoarder-${i}`)
          account.release()
        },
        () => false,
      )
      account.take(140_000)
      return account
    })
    const good = budget.open(
      () => closed.push('good'),
      () => true,
    )
    expect(good.take(300_000)).toBe(true)
    expect(closed).toEqual(['hoarder-0', 'hoarder-1'])
    expect(budget.used).toBe(300_000 + 2 * 140_000)
    // A client without the password never closes one with it: refused, though the
    // authenticated request is the largest.
    const stranger = budget.open(
      () => closed.push('stranger'),
      () => false,
    )
    expect(stranger.take(200_000)).toBe(false)
    expect(closed).not.toContain('good')
    void hoarders
  })

  it('a closing connection drops what it held at once, budget and bytes', () => {
    const budget = new RequestBudget(600_000)
    const hoarder = start(budget)
    hoarder.parser.push(Buffer.from('*100000\r\n'))
    hoarder.parser.push(elements(3_000))
    expect(hoarder.parser.next()).toBeUndefined()
    expect(budget.used).toBeGreaterThan(0)
    hoarder.parser.discard()
    expect(budget.used).toBe(0)
    expect(hoarder.parser.buffered).toBe(0)
  })

  it('refuses the client asking when it would hold the most', () => {
    const budget = new RequestBudget(600_000)
    let evicted = 0
    const small = start(budget, () => evicted++)
    small.parser.push(Buffer.concat([Buffer.from('*10\r\n'), elements(5, 10)]))
    expect(small.parser.next()).toBeUndefined()
    const big = start(budget)
    big.parser.push(Buffer.from('*100000\r\n'))
    big.parser.push(elements(10_000))
    expect(() => big.parser.next()).toThrow(`Protocol error: ${BUDGET_REFUSAL}`)
    expect(evicted).toBe(0)
    big.account.release()
    expect(budget.used).toBe(small.account.held)
    // A request larger than the whole budget closes nobody else.
    const huge = start(budget)
    huge.parser.push(Buffer.from('*100000\r\n'))
    huge.parser.push(elements(5_000))
    expect(() => huge.parser.next()).toThrow(`Protocol error: ${BUDGET_REFUSAL}`)
    expect(evicted).toBe(0)
  })
})
