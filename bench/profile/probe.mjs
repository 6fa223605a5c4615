/**
 * A preload (`node --import ./bench/profile/probe.mjs ...`) that measures a process from
 * the inside over windows the driver chooses, for the profiles in docs/profiles/.
 *
 * Control: write `start LABEL` or `stop LABEL` into the file named by PROBE_CTL, then send
 * SIGUSR2. `stop` writes PROBE_DIR/LABEL.json (CPU, event-loop utilization, wake-ups by
 * kind, timers by creation site, gossipsub RPC and message counts, streams opened by
 * protocol, heartbeat time) and, with PROBE_PROFILE=1, PROBE_DIR/LABEL.cpuprofile (the V8
 * sampling profiler through node:inspector: the same profiler and file format as
 * `--cpu-prof`, over the window instead of the whole life of the process).
 * PROBE_PROFILE_START=LABEL starts a window at load (a profile of the start itself).
 * PROBE_MODULES=1 records every module URL loaded (module.registerHooks), written with
 * each window as `modules`.
 *
 * Counting costs: PROBE_HOOKS=1 adds an async_hooks hook (every callback the event loop
 * runs, by resource type; timers by the stack of their creation), from the start (counted
 * inside windows). Use it on processes measured idle: under load it would cost more than what it measures.
 * PROBE_INTERVAL_US sets the profiler's sampling interval (default 1000 µs).
 */
import { createHook } from 'node:async_hooks'
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import module from 'node:module'
import { performance } from 'node:perf_hooks'

const DIR = process.env.PROBE_DIR ?? '.'
const CTL = process.env.PROBE_CTL
const PROFILE = process.env.PROBE_PROFILE === '1'
const HOOKS = process.env.PROBE_HOOKS === '1'
/** Sampling interval of the profiler, µs (`--cpu-prof-interval`'s default: 1000). */
const INTERVAL_US = Number(process.env.PROBE_INTERVAL_US ?? 1000)

// ---- loaded modules ----------------------------------------------------------------
const modules = []
if (process.env.PROBE_MODULES === '1' && typeof module.registerHooks === 'function') {
  module.registerHooks({
    load(url, context, next) {
      modules.push(url)
      return next(url, context)
    },
  })
}

// ---- counters, reset at each window's start ---------------------------------------
let c
function reset() {
  c = {
    callbacks: {}, // event-loop callbacks by async resource type
    timerFires: {}, // by creation site
    timersCreated: {}, // by creation site
    gossip: {
      rpcIn: 0,
      rpcBytesIn: 0,
      msgIn: 0,
      subsIn: 0,
      ihaveIn: 0,
      ihaveIdsIn: 0,
      iwantIn: 0,
      iwantIdsIn: 0,
      graftIn: 0,
      pruneIn: 0,
      idontwantIn: 0,
      rpcOut: 0,
      msgOut: 0,
      ihaveOut: 0,
      iwantOut: 0,
      idontwantOut: 0,
      valid: 0,
      duplicate: 0,
      heartbeats: 0,
      heartbeatMs: 0,
    },
    streamsOut: {}, // by protocol
    connOpen: 0,
    connClose: 0,
  }
}
reset()
const bump = (o, k, n = 1) => {
  o[k] = (o[k] ?? 0) + n
}

// ---- async hooks: what wakes the process -------------------------------------------
const typeOf = new Map()
const siteOf = new Map()
function creationSite() {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 14
  const stack = new Error().stack ?? ''
  Error.stackTraceLimit = limit
  const frames = stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ''))
    .filter((l) => !l.includes('node:') && !l.includes('probe.mjs'))
  const f = frames[0] ?? '(internal)'
  // Shorten: package or dist path, function name.
  return f
    .replace(/file:\/\/[^ )]*\/node_modules\//, '')
    .replace(/file:\/\/[^ )]*\/dist\//, 'meshcache/')
    .replace(/:\d+\)?$/, ')')
}
const hook = createHook({
  init(id, type) {
    if (type === 'PROMISE') return
    typeOf.set(id, type)
    if (type === 'Timeout') {
      const site = creationSite()
      siteOf.set(id, site)
      bump(c.timersCreated, site)
    }
  },
  before(id) {
    const type = typeOf.get(id)
    if (type === undefined) return
    bump(c.callbacks, type)
    if (type === 'Timeout') bump(c.timerFires, siteOf.get(id))
  },
  destroy(id) {
    typeOf.delete(id)
    siteOf.delete(id)
  },
})
// From the start: intervals created at start-up fire inside later windows.
if (HOOKS) hook.enable()

// ---- gossipsub and libp2p, found as they add event listeners ----------------------
const patched = new WeakSet()
function patchGossipsub(g) {
  const decodeRpc = g.decodeRpc.bind(g)
  g.decodeRpc = (bytes) => {
    c.gossip.rpcBytesIn += bytes.length
    return decodeRpc(bytes)
  }
  const handleReceivedRpc = g.handleReceivedRpc.bind(g)
  g.handleReceivedRpc = (from, rpc) => {
    const G = c.gossip
    G.rpcIn++
    G.msgIn += rpc.messages?.length ?? 0
    G.subsIn += rpc.subscriptions?.length ?? 0
    const ctl = rpc.control
    if (ctl) {
      G.ihaveIn += ctl.ihave?.length ?? 0
      for (const h of ctl.ihave ?? []) G.ihaveIdsIn += h.messageIDs?.length ?? 0
      G.iwantIn += ctl.iwant?.length ?? 0
      for (const w of ctl.iwant ?? []) G.iwantIdsIn += w.messageIDs?.length ?? 0
      G.graftIn += ctl.graft?.length ?? 0
      G.pruneIn += ctl.prune?.length ?? 0
      G.idontwantIn += ctl.idontwant?.length ?? 0
    }
    return handleReceivedRpc(from, rpc)
  }
  const validate = g.validateReceivedMessage.bind(g)
  g.validateReceivedMessage = async (from, msg) => {
    const r = await validate(from, msg)
    // An `Ignore` from the topic validator is `invalid` with reason `ignore`.
    bump(c.gossip, r.code === 'invalid' ? `invalid:${r.reason}` : r.code)
    return r
  }
  const outbound = (rpc, n) => {
    const G = c.gossip
    G.rpcOut += n
    G.msgOut += n * (rpc.messages?.length ?? 0)
    G.ihaveOut += n * (rpc.control?.ihave?.length ?? 0)
    G.iwantOut += n * (rpc.control?.iwant?.length ?? 0)
    G.idontwantOut += n * (rpc.control?.idontwant?.length ?? 0)
  }
  const sendRpc = g.sendRpc.bind(g)
  g.sendRpc = (id, rpc) => {
    outbound(rpc, 1)
    return sendRpc(id, rpc)
  }
  if (typeof g.sendRpcInBatch === 'function') {
    const sendRpcInBatch = g.sendRpcInBatch.bind(g)
    g.sendRpcInBatch = (tosend, rpc) => {
      outbound(rpc, tosend.size ?? tosend.length ?? 0)
      return sendRpcInBatch(tosend, rpc)
    }
  }
  const heartbeat = g.heartbeat.bind(g)
  g.heartbeat = async () => {
    const t = performance.now()
    try {
      return await heartbeat()
    } finally {
      c.gossip.heartbeats++
      c.gossip.heartbeatMs += performance.now() - t
    }
  }
}
function patchConnection(conn) {
  // libp2p's Connection.newStream is an arrow-function field: patch the instance.
  if (patched.has(conn)) return
  patched.add(conn)
  const newStream = conn.newStream
  conn.newStream = (protocols, options) => {
    bump(c.streamsOut, Array.isArray(protocols) ? protocols[0] : String(protocols))
    return newStream.call(conn, protocols, options)
  }
}
function patchLibp2p(node) {
  node.addEventListener('connection:open', (e) => {
    c.connOpen++
    patchConnection(e.detail)
  })
  node.addEventListener('connection:close', () => c.connClose++)
  for (const conn of node.getConnections()) patchConnection(conn)
}
const addEventListener = EventTarget.prototype.addEventListener
EventTarget.prototype.addEventListener = function (type, listener, options) {
  if (!patched.has(this)) {
    if (typeof this.handleReceivedRpc === 'function' && typeof this.heartbeat === 'function') {
      patched.add(this)
      patchGossipsub(this)
    } else if (
      typeof this.dialProtocol === 'function' &&
      typeof this.getConnections === 'function'
    ) {
      patched.add(this)
      queueMicrotask(() => patchLibp2p(this))
    }
  }
  return addEventListener.call(this, type, listener, options)
}

// ---- windows -----------------------------------------------------------------------
const session = new Session()
session.connect()
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
  )
let win
async function start(label) {
  if (PROFILE) {
    await post('Profiler.enable')
    await post('Profiler.setSamplingInterval', { interval: INTERVAL_US })
    await post('Profiler.start')
  }
  reset()
  win = {
    label,
    t: performance.now(),
    cpu: process.cpuUsage(),
    elu: performance.eventLoopUtilization(),
  }
}
async function stop(label) {
  if (win === undefined) return
  const ms = performance.now() - win.t
  const cpu = process.cpuUsage(win.cpu)
  const elu = performance.eventLoopUtilization(win.elu)
  if (PROFILE) {
    const { profile } = await post('Profiler.stop')
    writeFileSync(`${DIR}/${label}.cpuprofile`, JSON.stringify(profile))
  }
  const perS = (o) =>
    Object.fromEntries(
      Object.entries(o)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, { n: v, perS: +((v * 1000) / ms).toFixed(3) }]),
    )
  const mem = process.memoryUsage()
  writeFileSync(
    `${DIR}/${label}.json`,
    JSON.stringify(
      {
        label,
        pid: process.pid,
        ms,
        cpuUs: cpu.user + cpu.system,
        cpuPctOfCore: (100 * (cpu.user + cpu.system)) / 1000 / ms,
        eluPct: 100 * elu.utilization,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        callbacks: perS(c.callbacks),
        timerFires: perS(c.timerFires),
        timersCreated: perS(c.timersCreated),
        gossip: c.gossip,
        streamsOut: perS(c.streamsOut),
        connOpen: c.connOpen,
        connClose: c.connClose,
        modules: modules.length > 0 ? modules : undefined,
      },
      null,
      1,
    ),
  )
  win = undefined
}
if (CTL !== undefined) {
  process.on('SIGUSR2', () => {
    const [cmd, label] = readFileSync(CTL, 'utf8').trim().split(/\s+/)
    const run = cmd === 'start' ? start(label) : stop(label)
    run.catch((err) => process.stderr.write(`probe: ${err.stack}\n`))
  })
}
globalThis.__probe = { start, stop }
if (process.env.PROBE_PROFILE_START) await start(process.env.PROBE_PROFILE_START)
