import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type NodeWatch, watchNode } from '../../src/cli/node-watch.js'
import { ManualClock } from '../../src/clock/clock.js'
import { waitFor } from '../helpers/wait.js'

let watch: NodeWatch | undefined
afterEach(() => watch?.stop())

/** A pino logger whose JSON lines land in `lines`. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      done()
    },
  })
  return { log: pino({ level: 'debug' }, stream), lines }
}

describe('meshcache node logs: peers and rejected input', () => {
  it('logs each peer connect and disconnect once, and rejected input per code at most once per window', async () => {
    let peers = [{ id: 'p1', region: 'eu-west' }]
    const rejected: Record<string, number> = { malformed: 0, 'clock-drift': 0 }
    const fake = {
      admin: { mesh: { peers: () => peers } },
      stats: () => ({ rejected: { ...rejected } }),
    } as unknown as Cache<unknown>
    const { log, lines } = memoryLogger()
    watch = watchNode(fake, log, { pollMs: 5, rejectedLogEveryMs: 300 })
    await waitFor(() => lines.some((l) => l.msg === 'peer connected'), 'connect logged')
    peers = [{ id: 'p2', region: 'ap-south' }]
    await waitFor(() => lines.some((l) => l.msg === 'peer disconnected'), 'disconnect logged')
    await waitFor(() => lines.filter((l) => l.msg === 'peer connected').length === 2, 'p2 logged')
    expect(
      lines.filter((l) => String(l.msg).startsWith('peer ')).map((l) => [l.msg, l.peer, l.region]),
    ).toEqual([
      ['peer connected', 'p1', 'eu-west'],
      ['peer connected', 'p2', 'ap-south'],
      ['peer disconnected', 'p1', 'eu-west'],
    ])

    rejected.malformed = 3
    await waitFor(
      () => lines.some((l) => l.msg === 'rejected input from peers'),
      'rejections logged',
    )
    rejected.malformed = 5
    rejected['clock-drift'] = 1
    const logged = () => lines.filter((l) => l.msg === 'rejected input from peers')
    await waitFor(() => logged().length === 2, 'the next window logs the increments', 2_000)
    const [first, second] = logged()
    expect(first).toMatchObject({ level: 40, rejected: { malformed: 3 } })
    expect(second).toMatchObject({ rejected: { malformed: 2, 'clock-drift': 1 } })
    expect((second!.time as number) - (first!.time as number)).toBeGreaterThanOrEqual(300)
  })
  it('logs once when the clock becomes skewed, once when writes are refused, once when it is back', async () => {
    let clock: Record<string, unknown> = { correctionMs: 0, skewed: false, peersMeasured: 2 }
    let polls = 0
    const fake = {
      admin: { mesh: { peers: () => [] } },
      stats: () => {
        polls++
        return { rejected: {}, mesh: { clock } }
      },
    } as unknown as Cache<unknown>
    const { log, lines } = memoryLogger()
    watch = watchNode(fake, log, { pollMs: 5 })
    const clockLines = () => lines.filter((l) => 'correctionMs' in l)
    clock = { correctionMs: -1_800_000, skewed: true, peersMeasured: 2, reason: 'corrected' }
    await waitFor(() => clockLines().length === 1, 'skew logged')
    clock = { ...clock, refusingWrites: true, reason: 'writes are refused' }
    await waitFor(() => clockLines().length === 2, 'refusal logged')
    clock = { correctionMs: 0, skewed: false, peersMeasured: 2 }
    await waitFor(() => clockLines().length === 3, 'recovery logged')
    const seen = polls
    await waitFor(() => polls > seen + 10, 'ten more polls') // which log nothing more
    expect(clockLines().map((l) => [l.level, l.msg, l.refusingWrites])).toEqual([
      [40, 'corrected', false],
      [40, 'writes are refused', true],
      [30, 'clock back in line with the mesh', undefined],
    ])
  })

  it('on the clock it is given: polls every pollMs, logs rejected input at most once per window, with the time since the last line', () => {
    const rejected: Record<string, number> = { malformed: 0 }
    let polls = 0
    const fake = {
      admin: { mesh: { peers: () => [] } },
      stats: () => {
        polls++
        return { rejected: { ...rejected } }
      },
    } as unknown as Cache<unknown>
    const { log, lines } = memoryLogger()
    const clock = new ManualClock()
    watch = watchNode(fake, log, { pollMs: 1_000, rejectedLogEveryMs: 10_000, clock })
    const logged = () => lines.filter((l) => l.msg === 'rejected input from peers')
    const start = polls
    clock.advance(999)
    expect(polls).toBe(start)
    rejected.malformed = 3
    clock.advance(1) // first poll, t = 1 s: logged at once
    expect(logged()).toMatchObject([{ rejected: { malformed: 3 }, sinceMs: null }])
    rejected.malformed = 5
    clock.advance(9_000) // t = 10 s: within the window
    expect(logged()).toHaveLength(1)
    clock.advance(1_000) // t = 11 s: the window is over
    expect(logged()).toHaveLength(2)
    expect(logged()[1]).toMatchObject({ rejected: { malformed: 2 }, sinceMs: 10_000 })
    watch.stop()
    expect(clock.pending).toBe(0)
  })
})
