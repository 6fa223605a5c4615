import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'
import { logger } from '../log.js'

const log = logger('meshcache:mesh')

/** The fields of a yamux stream the window rule reads (internal to @chainsafe/libp2p-yamux 8). */
interface WindowFields {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

/**
 * True when a yamux stream should send a window update now: always while its handshake
 * flags (SYN, ACK) are due or it is paused (the library's own logic runs), otherwise only
 * once at least half of its receive window has been used, as Go's hashicorp/yamux and
 * rust-yamux do. @chainsafe/libp2p-yamux 8 sends one after every data frame it receives:
 * for meshcache's many small relay frames that doubled the frames on every link (each
 * one encrypted, written, read and decrypted by the peer).
 */
export function windowUpdateDue(s: WindowFields): boolean {
  if (
    s.state === StreamState.Init ||
    s.state === StreamState.SYNReceived ||
    s.state === StreamState.Paused
  )
    return true
  return s.recvWindow - s.recvWindowCapacity >= s.recvWindow / 2
}

let installed = false

/**
 * Makes yamux streams send window updates per half window instead of per data frame
 * (decision: docs/decisions/yamux-window.md). Idempotent; when the library no longer has
 * the method this wraps, nothing changes and that is logged.
 */
export function halfWindowUpdates(): void {
  if (installed) return
  installed = true
  const proto = YamuxStream.prototype as unknown as {
    sendWindowUpdate?: (this: WindowFields) => void
  }
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function') {
    log('yamux has no sendWindowUpdate: window updates left as the library sends them')
    return
  }
  proto.sendWindowUpdate = function sendWindowUpdate(this: WindowFields) {
    if (windowUpdateDue(this)) original.call(this)
  }
}
