#!/usr/bin/env node
/**
 * Kubernetes bootstrap for `meshcache node`: finds the meshcache pods behind a headless
 * Service, asks each for its peer id (`GET /status`), then starts the node in this process
 * with them added to MESHCACHE_PEERS.
 *
 * Why: a bootstrap peer must be a multiaddr ending in /p2p/<peer id>, and a DNS name
 * (the headless Service) carries no peer id. Pod IPs and peer ids are only known at run time.
 *
 * Environment (besides the node's own MESHCACHE_* variables):
 *   MESHCACHE_DISCOVER             comma-separated DNS names or IPs (the headless Service)
 *   POD_IP                         this pod's IP (downward API: status.podIP)
 *   MESHCACHE_DISCOVER_TIMEOUT_MS  how long a pod waits for a running peer (default 60000)
 * The HTTP and libp2p ports of the other pods are taken from MESHCACHE_HTTP and
 * MESHCACHE_LISTEN (every pod of a mesh uses the same ones); `/status` is asked with the
 * first token of MESHCACHE_HTTP_TOKEN_FILE (every pod of a mesh shares the token Secret).
 *
 * Start rule, so that pods started together do not form separate meshes: a pod starts once
 * it reached at least one running node; the pod with the lowest IP among those the name
 * resolves to (the Service must set publishNotReadyAddresses, so starting pods are listed)
 * starts without waiting; a pod that reached nobody by the deadline exits 1 and Kubernetes
 * restarts it. Every pod started later connects to every node running then, and members
 * learn each other through hello, so the pods form one mesh.
 */
import { lookup } from 'node:dns/promises'
import { readFileSync } from 'node:fs'
import { isIPv6 } from 'node:net'

const log = (msg) => console.error(`discover-peers: ${msg}`)
const env = process.env
const names = (env.MESHCACHE_DISCOVER ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
const self = env.POD_IP
if (names.length === 0 || !self) {
  log('set MESHCACHE_DISCOVER (the headless Service name) and POD_IP (status.podIP)')
  process.exit(2)
}
const httpPort = /:(\d+)$/.exec(env.MESHCACHE_HTTP ?? '')?.[1] ?? '8080'
/** The first token of the node's token file: other pods' /status needs it. */
const token = env.MESHCACHE_HTTP_TOKEN_FILE
  ? readFileSync(env.MESHCACHE_HTTP_TOKEN_FILE, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('#'))
  : undefined
const p2pPort = /\/tcp\/(\d+)/.exec(env.MESHCACHE_LISTEN ?? '')?.[1] ?? '7946'
const deadline = Date.now() + Number(env.MESHCACHE_DISCOVER_TIMEOUT_MS ?? 60_000)

/** IPs the names resolve to now (this pod's included once its endpoint is published). */
async function resolveAll() {
  const found = await Promise.all(
    names.map((name) =>
      lookup(name, { all: true }).then(
        (as) => as.map((a) => a.address),
        () => [],
      ),
    ),
  )
  return [...new Set(found.flat())]
}

/** The bootstrap multiaddr of the node at `ip`, or undefined when it does not answer. */
async function peerAt(ip) {
  const host = isIPv6(ip) ? `[${ip}]` : ip
  try {
    const res = await fetch(`http://${host}:${httpPort}/status`, {
      signal: AbortSignal.timeout(2_000),
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })
    const status = res.ok ? await res.json() : undefined
    if (typeof status?.node !== 'string') return undefined
    return `/${isIPv6(ip) ? 'ip6' : 'ip4'}/${ip}/tcp/${p2pPort}/p2p/${status.node}`
  } catch {
    return undefined
  }
}

let peers = []
for (;;) {
  const all = await resolveAll()
  const others = all.filter((ip) => ip !== self)
  peers = (await Promise.all(others.map(peerAt))).filter((p) => p !== undefined)
  if (peers.length > 0) break
  // Any order works if every pod uses the same one; string order is enough.
  if (all.includes(self) && others.every((ip) => self < ip)) {
    log(`no running peer among ${others.length} other pods; lowest IP, starting the mesh`)
    break
  }
  if (Date.now() > deadline) {
    log(
      all.includes(self)
        ? `no running peer among ${others.join(', ')} in time; exiting to be restarted`
        : `${names.join(', ')} does not resolve to this pod (${self}): it must be a headless ` +
            'Service selecting these pods, with publishNotReadyAddresses: true',
    )
    process.exit(1)
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000))
}
const given = (env.MESHCACHE_PEERS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean)
env.MESHCACHE_PEERS = [...given, ...peers].join(',')
log(`starting with ${peers.length} discovered peers: ${peers.join(' ') || '(none)'}`)

// Run `meshcache node <args>` in this process: one PID, signals go straight to the node.
const cli = new URL('./bin/meshcache.js', import.meta.url)
process.argv = [process.argv[0], cli.pathname, 'node', ...process.argv.slice(2)]
await import(cli.href)
