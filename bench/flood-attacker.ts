/**
 * The outsider of bench:flood and test/process/pnet-flood.test.ts: a separate process
 * without the network key that attacks a node's libp2p TCP port, driven over IPC by
 * `flood-scenario.ts`. It knows nothing of libp2p: it only opens TCP connections.
 *
 * - `stream`: `slots` connections at once, each writing random bytes as fast as the socket
 *   takes them, up to `perConnectionBytes`, then closing; a slot whose connection ends (or
 *   is cut) opens the next one after `reopenMs`, until `totalBytes` were written in all
 *   or `maxMs` passed; then every connection still open is closed.
 * - `hold`: `connections` idle connections (nothing sent); each one cut is reopened after
 *   `reopenMs`, until `stop`.
 *
 * Connections leave from `sources` (local addresses on 127.0.0.0/8) in turn, so per-IP
 * limits alone cannot stop it. Run: node --import tsx bench/flood-attacker.ts (IPC only).
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'

/** A command from the scenario. */
export type AttackCommand =
  | {
      type: 'stream'
      host: string
      port: number
      sources: string[]
      slots: number
      perConnectionBytes: number
      totalBytes: number
      maxMs: number
      reopenMs: number
    }
  | {
      type: 'hold'
      host: string
      port: number
      sources: string[]
      connections: number
      reopenMs: number
    }
  | { type: 'stop' }

/** What the attacker did, sent back when a phase ends. */
export interface AttackStats {
  /** Connections opened (TCP connect succeeded). */
  opened: number
  /** Connect attempts that failed (refused, reset before connect). */
  connectFailures: number
  /** Connections that the target ended or reset before this side closed them. */
  cut: number
  /** Bytes the kernel took from this side (written and flushed to the socket). */
  bytesWritten: number
  /** How long the phase ran, ms. */
  ms: number
}

/** A message to the scenario. */
export type AttackReport =
  | { type: 'done'; phase: 'stream' | 'hold'; stats: AttackStats }
  | { type: 'holding'; open: number }

const CHUNK = 16_384
/** Random bytes to send: 1 MiB drawn once, sent from random offsets. */
const POOL = randomBytes(1 << 20)

function chunk(): Buffer {
  const at = Math.floor(Math.random() * (POOL.length - CHUNK))
  return POOL.subarray(at, at + CHUNK)
}

function send(msg: AttackReport): void {
  process.send?.(msg)
}

const sockets = new Set<Socket>()
let stopping = false
let holdStats: AttackStats | undefined
let holdStarted = 0

function newStats(): AttackStats {
  return { opened: 0, connectFailures: 0, cut: 0, bytesWritten: 0, ms: 0 }
}

/** Opens one connection from `source`; `onEnd(cut)` runs once when it is gone. */
function open(
  host: string,
  port: number,
  source: string,
  stats: AttackStats,
  onConnect: (s: Socket) => void,
  onEnd: (connected: boolean) => void,
): void {
  const s = connect({ host, port, localAddress: source })
  sockets.add(s)
  let connected = false
  let ended = false
  s.setNoDelay(true)
  s.once('connect', () => {
    connected = true
    stats.opened++
    onConnect(s)
  })
  const finish = (byRemote: boolean) => {
    if (ended) return
    ended = true
    sockets.delete(s)
    if (!connected) stats.connectFailures++
    else if (byRemote) stats.cut++
    s.destroy()
    onEnd(connected)
  }
  s.on('error', () => finish(true))
  s.on('end', () => finish(true))
  s.on('close', () => finish(!s.writableEnded))
}

function stream(cmd: Extract<AttackCommand, { type: 'stream' }>): void {
  const stats = newStats()
  const t0 = Date.now()
  let active = 0
  let next = 0
  const progress = setInterval(() => {
    console.error(
      `attacker: ${stats.opened} opened, ${stats.cut} cut, ${(stats.bytesWritten / 1e6).toFixed(1)} MB, ${active} active`,
    )
  }, 2_000)
  const over = () => stats.bytesWritten >= cmd.totalBytes || Date.now() - t0 >= cmd.maxMs
  let finished = false
  const slot = () => {
    if (over()) {
      // The budget is spent: the flood ends, and connections still open are closed.
      if (!finished) {
        finished = true
        for (const s of sockets) s.destroy()
      }
      if (active === 0) {
        stats.ms = Date.now() - t0
        clearInterval(progress)
        send({ type: 'done', phase: 'stream', stats })
      }
      return
    }
    active++
    const source = cmd.sources[next++ % cmd.sources.length]!
    open(
      cmd.host,
      cmd.port,
      source,
      stats,
      (s) => {
        let sent = 0
        const pump = () => {
          while (sent < cmd.perConnectionBytes && !over() && !s.destroyed) {
            const c = chunk().subarray(0, Math.min(CHUNK, cmd.perConnectionBytes - sent))
            sent += c.length
            const ok = s.write(c, (err) => {
              if (!err) stats.bytesWritten += c.length
            })
            if (!ok) return
          }
          if (!s.destroyed) s.end()
        }
        s.on('drain', pump)
        pump()
      },
      () => {
        active--
        setTimeout(slot, cmd.reopenMs)
      },
    )
  }
  // Connections the target neither reads nor closes would keep the phase open.
  setTimeout(slot, cmd.maxMs).unref()
  for (let i = 0; i < cmd.slots; i++) slot()
}

function hold(cmd: Extract<AttackCommand, { type: 'hold' }>): void {
  const stats = newStats()
  holdStats = stats
  holdStarted = Date.now()
  let held = 0
  let settled = 0
  let next = 0
  // Announced once every slot's first attempt settled (a node that refuses some of them
  // is still being held against: the refused slots keep reopening).
  const settle = () => {
    if (++settled === cmd.connections) send({ type: 'holding', open: held })
  }
  const slot = (first: boolean) => {
    if (stopping) return
    const source = cmd.sources[next++ % cmd.sources.length]!
    open(
      cmd.host,
      cmd.port,
      source,
      stats,
      () => {
        held++
        if (first) settle()
      },
      (connected) => {
        if (connected) held--
        else if (first) settle()
        if (!stopping) setTimeout(() => slot(false), cmd.reopenMs)
      },
    )
  }
  for (let i = 0; i < cmd.connections; i++) slot(true)
}

process.on('message', (msg: AttackCommand) => {
  if (msg.type === 'stream') stream(msg)
  else if (msg.type === 'hold') hold(msg)
  else {
    stopping = true
    for (const s of sockets) s.destroy()
    const stats = holdStats ?? newStats()
    stats.ms = holdStarted === 0 ? 0 : Date.now() - holdStarted
    send({ type: 'done', phase: 'hold', stats })
  }
})
process.on('disconnect', () => process.exit(0))
