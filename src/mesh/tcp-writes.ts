import type { tcp } from '@libp2p/tcp'
import { logger } from '../log.js'

const log = logger('meshcache:mesh')

type TcpFactory = ReturnType<typeof tcp>
type Transport = ReturnType<TcpFactory>

/** What the patch reads of @libp2p/tcp's connection (internal to @libp2p/tcp 11). */
interface SocketConnection {
  socket?: {
    write(chunk: Uint8Array): boolean
    cork(): void
    uncork(): void
    readonly writableCorked: number
    readonly destroyed: boolean
  }
}

type SendData = (
  this: SocketConnection,
  data: Iterable<Uint8Array> & { byteLength: number },
) => { sentBytes: number; canSendMore: boolean }

const patched = new WeakSet<object>()

function uncork(socket: NonNullable<SocketConnection['socket']>): void {
  if (!socket.destroyed) socket.uncork()
}

/**
 * Makes a TCP connection's writes of one turn of the event loop leave in one system call.
 * @libp2p/tcp writes every chunk of what it is given as its own `socket.write`, and Noise
 * gives it two per message (the 2-byte length, then the ciphertext): two syscalls and,
 * with Nagle off, two TCP segments per message, each read, evented and decoded apart by
 * the peer. Corked until the next tick, a turn's messages (a relay frame, the window
 * updates and stream openings beside it) go out in one `writev`. Backpressure is as
 * before: `write` answers false once the socket holds more than its high-water mark.
 * (docs/decisions/tcp-writes.md)
 */
function coalesce(conn: object): void {
  const proto = Object.getPrototypeOf(conn) as { sendData?: SendData }
  if (patched.has(proto)) return
  patched.add(proto)
  const original = proto.sendData
  if (typeof original !== 'function' || (conn as SocketConnection).socket?.cork === undefined) {
    log('@libp2p/tcp connections have no sendData or socket: writes left as the library makes them')
    return
  }
  proto.sendData = function sendData(data) {
    const socket = this.socket
    if (socket === undefined || socket.destroyed) return original.call(this, data)
    if (socket.writableCorked === 0) {
      socket.cork()
      process.nextTick(uncork, socket)
    }
    let sentBytes = 0
    let canSendMore = true
    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = socket.write(buf)
      if (!canSendMore) break
    }
    return { sentBytes, canSendMore }
  }
}

type Upgrade = (conn: object, ...rest: unknown[]) => unknown
type Upgrader = { upgradeInbound: Upgrade; upgradeOutbound: Upgrade }

/** The upgrader with every connection it upgrades coalesced first. */
function watching<U extends object>(upgrader: U): U {
  return new Proxy(upgrader, {
    get(target, prop) {
      if (prop === 'upgradeInbound' || prop === 'upgradeOutbound') {
        const upgrade = (target as unknown as Upgrader)[prop]
        return (conn: object, ...rest: unknown[]) => {
          coalesce(conn)
          return upgrade.call(target, conn, ...rest)
        }
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** `factory`'s TCP transport with each connection's writes coalesced per turn ({@link coalesce}). */
export function coalescingTcp(factory: TcpFactory): TcpFactory {
  return (components) => {
    const transport: Transport = factory(components)
    const dial = transport.dial.bind(transport)
    transport.dial = (ma, options) => dial(ma, { ...options, upgrader: watching(options.upgrader) })
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) =>
      createListener({ ...options, upgrader: watching(options.upgrader) })
    return transport
  }
}
