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

function uncork(socket: NonNullable<SocketConnection['socket']>): void {
  if (!socket.destroyed) socket.uncork()
}

/**
 * Makes a TCP connection's writes of one turn of the event loop leave in one system call.
 * @libp2p/tcp writes every chunk of what it is given as its own `socket.write`, and Noise
 * gives it two per message (the 2-byte length, then the ciphertext): two syscalls and,
 * with Nagle off, two TCP segments per message, each read, evented and decoded apart by
 * the peer. Corked until the next tick, a turn's messages (a relay frame, the window
 * updates and stream openings beside it) go out in one `writev`. The library's own
 * `sendData` still writes (so its backpressure rules hold: `write` answers false once the
 * socket holds more than its high-water mark, here counting the whole turn's bytes). Set on
 * the connection, not its class: other libp2p nodes in the process are left as they are.
 * (docs/decisions/tcp-writes.md)
 */
function coalesce(conn: object): void {
  const c = conn as SocketConnection & { sendData?: SendData }
  const original = c.sendData
  if (typeof original !== 'function' || c.socket?.cork === undefined) {
    log('a TCP connection without sendData or socket: its writes left as the library makes them')
    return
  }
  c.sendData = function sendData(data) {
    const socket = this.socket
    if (socket !== undefined && !socket.destroyed && socket.writableCorked === 0) {
      socket.cork()
      process.nextTick(uncork, socket)
    }
    return original.call(this, data)
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
