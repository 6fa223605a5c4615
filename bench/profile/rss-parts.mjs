/**
 * What a mesh node's RSS is made of, stage by stage, in this process: resident anonymous
 * memory (the V8 heap, malloc) and resident pages of files (the node binary's code and
 * data, first touched by what the stage runs; shared with every other Node process on the
 * host), with V8's heap used and committed. Stages: the libp2p stack's import, meshcache's
 * mesh code, a mesh node with no peers, 3 s later. Each figure is after a full GC.
 * Run (the built package: npm run build first): node --expose-gc bench/profile/rss-parts.mjs
 * [V8 flags such as --max-semi-space-size=1 go before the script, to see what they change]
 */
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

const mib = (kb) => +(kb / 1024).toFixed(1)
const rows = []
function stage(name) {
  globalThis.gc?.()
  const status = readFileSync('/proc/self/status', 'utf8')
  const kb = (field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? Number.NaN)
  const m = process.memoryUsage()
  rows.push({
    stage: name,
    rssMiB: mib(kb('VmRSS')),
    anonMiB: mib(kb('RssAnon')),
    fileMiB: mib(kb('RssFile')),
    heapUsedMiB: +(m.heapUsed / 2 ** 20).toFixed(1),
    heapCommittedMiB: +(m.heapTotal / 2 ** 20).toFixed(1),
  })
}

stage('bare process')
await import('libp2p')
await import('@chainsafe/libp2p-noise')
await import('@chainsafe/libp2p-yamux')
await import('@libp2p/tcp')
stage('+ libp2p, noise, yamux, tcp imported')
const { createCache } = await import('../../dist/src/index.js')
await import('../../dist/src/node/start-mesh.js')
stage('+ meshcache and its mesh code')
const cache = await createCache({ listen: ['/ip4/127.0.93.98/tcp/0'] })
stage('+ a mesh node, no peers')
await sleep(3_000)
stage('3 s later')
await cache.close()
console.table(rows)
