import type { Socket } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DelayPipe } from '../../src/sim/delay-pipe.js'
import { waitFor } from '../helpers/wait.js'

/** What the pipe writes to: the bytes, in arrival order. */
function sink(): { socket: Socket; bytes: number[] } {
  const bytes: number[] = []
  const socket = {
    destroyed: false,
    write: (chunk: Buffer) => {
      bytes.push(...chunk)
      return true
    },
  }
  return { socket: socket as unknown as Socket, bytes }
}

type Step =
  | { kind: 'push'; size: number }
  | { kind: 'cut' }
  | { kind: 'heal' }
  | { kind: 'wait'; ms: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('push'), size: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heal') }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('wait'), ms: fc.integer({ min: 0, max: 4 }) }),
  },
)

describe('DelayPipe (one direction of a simulated TCP link)', () => {
  it('delivers every byte in the order it was sent, whatever cuts and heals come between', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        async (steps, latencyMs, jitterMs) => {
          let cut = false
          const out = sink()
          const pipe = new DelayPipe(out.socket, {
            spec: () => ({ latencyMs, jitterMs, loss: 0 }),
            blocked: () => cut,
          })
          const sent: number[] = []
          let next = 0
          for (const s of steps) {
            if (s.kind === 'push') {
              const chunk = Buffer.from(Array.from({ length: s.size }, () => next++ % 256))
              sent.push(...chunk)
              pipe.push(chunk)
            } else if (s.kind === 'cut') cut = true
            else if (s.kind === 'heal') {
              cut = false
              pipe.release()
            } else await new Promise((r) => setTimeout(r, s.ms))
          }
          cut = false
          pipe.release()
          await waitFor(() => out.bytes.length >= sent.length, 'every byte delivered', 2_000)
          pipe.close()
          expect(out.bytes).toEqual(sent)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('holds bytes while the link is cut and delivers them after the heal', async () => {
    let cut = false
    const out = sink()
    const pipe = new DelayPipe(out.socket, {
      spec: () => ({ latencyMs: 5, jitterMs: 0, loss: 0 }),
      blocked: () => cut,
    })
    pipe.push(Buffer.from([1])) // on its way when the link goes dark
    cut = true
    pipe.push(Buffer.from([2]))
    await new Promise((r) => setTimeout(r, 20))
    expect(out.bytes).toEqual([])
    cut = false
    pipe.release()
    await waitFor(() => out.bytes.length === 2, 'held bytes delivered')
    expect(out.bytes).toEqual([1, 2])
    pipe.close()
  })
})
