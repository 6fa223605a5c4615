import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { describe, expect, it } from 'vitest'
import { halfWindowUpdates, windowUpdateDue } from '../../src/mesh/yamux-window.js'

// The window rule on the library's own stream method: a stand-in `this` with the fields
// yamux 8's sendWindowUpdate reads, and a spy for the frames it sends.
function stream(state: StreamState, used: number) {
  const window = 256 * 1024
  const frames: { type: number; length: number }[] = []
  const s = {
    state,
    recvWindow: window,
    recvWindowCapacity: window - used,
    maxStreamWindowSize: 16 * 1024 * 1024,
    epochStart: 0,
    getRTT: () => -1,
    getSendFlags(): number {
      return state === StreamState.SYNReceived ? 2 : 0
    },
    sendFrame(frame: { header?: { type: number; length: number }; type?: number; length: number }) {
      frames.push({ type: frame.type ?? frame.header!.type, length: frame.length })
    },
  }
  return { s, frames }
}

describe('yamux window updates', () => {
  it('are due per half window once established, at once while flags are due', () => {
    const window = 1_000
    const fields = (state: StreamState, used: number) => ({
      state,
      recvWindow: window,
      recvWindowCapacity: window - used,
    })
    expect(windowUpdateDue(fields(StreamState.Established, 100))).toBe(false)
    expect(windowUpdateDue(fields(StreamState.Established, 499))).toBe(false)
    expect(windowUpdateDue(fields(StreamState.Established, 500))).toBe(true)
    expect(windowUpdateDue(fields(StreamState.SYNSent, 10))).toBe(false)
    expect(windowUpdateDue(fields(StreamState.SYNReceived, 10))).toBe(true)
    expect(windowUpdateDue(fields(StreamState.Init, 0))).toBe(true)
    expect(windowUpdateDue(fields(StreamState.Paused, 10))).toBe(true)
  })

  it('the installed rule stops the update after each small frame and sends one per half window', () => {
    halfWindowUpdates()
    halfWindowUpdates() // idempotent: wrapped once
    const send = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: unknown) => void }
    // A 100-byte relay frame on an established stream: no frame back (the library sent one).
    const small = stream(StreamState.Established, 100)
    send.sendWindowUpdate.call(small.s)
    expect(small.frames).toEqual([])
    // Half the window used: one update returning all of it.
    const half = stream(StreamState.Established, 128 * 1024)
    send.sendWindowUpdate.call(half.s)
    expect(half.frames).toHaveLength(1)
    expect(half.frames[0]!.length).toBe(128 * 1024)
    expect(half.s.recvWindowCapacity).toBe(half.s.recvWindow)
    // The ACK of a stream the peer opened still goes at once.
    const ack = stream(StreamState.SYNReceived, 10)
    send.sendWindowUpdate.call(ack.s)
    expect(ack.frames).toHaveLength(1)
  })
})
