/**
 * Where a node's time goes per received write, from the solo node's profiles of
 * `npm run bench:scale -- --profile-solo DIR` (docs/profiles/2026-12-receive-path.md):
 * busy time (not (idle)) by package (self time), split into the stages of the relay's
 * receive and forward path (each sample counted once, by the rules of STAGES in order),
 * and inclusive time of the main entry points (a sample counts for every marker on its
 * stack, so those overlap). Shares are of busy samples counted (see {@link tally}); µs per
 * received write = share x the main thread's CPU over the window (process.threadCpuUsage(),
 * from the soloProfile of the scale.json beside the profile, else --scale) / writes the
 * node received. Several profiles (runs of one regime) are summed, with each run's share.
 * Run: node --import tsx bench/profile/receive-stages.ts [--scale bench/results/scale.json]
 *      [--detail N (the N functions of most self samples in each stage)] FILE.cpuprofile...
 */
import { existsSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { packageOf } from '../profile-summary.js'
import type { ScaleResult } from '../scale-report.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
}

/** A stack as `functionName@url` keys, innermost first. */
type Stack = readonly string[]
type Rule = (s: Stack) => boolean

const on =
  (re: RegExp): Rule =>
  (s) =>
    s.some((k) => re.test(k))
const all =
  (...rules: Rule[]): Rule =>
  (s) =>
    rules.every((r) => r(s))
const top =
  (re: RegExp): Rule =>
  (s) =>
    re.test(s[0] ?? '')

const F = {
  readAll: /^readAll@.*\/relay-links\.ts/,
  onFrame: /^(onFrame|onItem)@.*\/mesh\/relay\.ts/,
  receive: /^receive@.*\/mesh\/receiver\.ts/,
  decode: /^decodeBatch@/,
  envelope: /^(openEnvelope|verify)@.*\/batch-signing\.ts|^(verify|Verify)@node:/,
  check: /^checkBatch@/,
  seen: /@.*\/seen-items\.ts/,
  route:
    /^(route|currentPlan|role)@.*\/mesh\/relay\.ts|^(send|schedule|outbound|refill)@.*\/relay-links\.ts/,
  linkControl: /@.*\/mesh\/link-control\.ts/,
  flush: /^flush@.*\/relay-links\.ts/,
  encodeFrame: /^encodeFrame@/,
  encrypt: /^(encrypt|encryptWithAd|chaCha20Poly1305Encrypt)@.*(libp2p-noise|as-chacha20poly1305)/,
  decrypt: /^(decrypt|decryptWithAd|chaCha20Poly1305Decrypt)@.*(libp2p-noise|as-chacha20poly1305)/,
  chacha: /@.*as-chacha20poly1305/,
  yamux: /@.*libp2p-yamux/,
  socket: /@(node:net|node:internal\/stream_base_commons|.*@libp2p\/tcp)/,
  benchHost: /@.*\/bench\/scale-host\.ts/,
  /** The `change` event: the cache's anonymous emit arrows (and under them, the listeners). */
  changeEvent: /^@.*\/src\/api\/cache\.ts/,
  decodeStored: /^decodeStored@/,
  writeDriver: /^writeAll@.*\/bench\/scale-host\.ts/,
  background: /@.*\/(mesh\/(anti-entropy|member-gossip|membership|hello|time-sync|rpc)|sync\/)/,
  timers: /^(listOnTimeout|processTimers)@/,
}

/** Stages, first matching rule wins: every busy sample lands in exactly one. */
export const STAGES: [string, Rule][] = [
  ['GC', top(/^\(garbage collector\)@/)],
  ['(program): VM and libuv outside JS', top(/^\(program\)@/)],
  ['own writes (bench write driver: set, batch, sign, send)', on(F.writeDriver)],
  ['receive: batch decode (decodeBatch)', all(on(F.onFrame), on(F.decode))],
  ['receive: envelope + signature check', all(on(F.onFrame), on(F.envelope))],
  ['receive: batch check (checkBatch)', all(on(F.onFrame), on(F.check))],
  [
    'receive: value decode (decodeStored: only with a change listener: the bench)',
    all(on(F.onFrame), on(F.decodeStored)),
  ],
  [
    'change event + bench listener (counting, lag samples)',
    all(on(F.onFrame), (st) => on(F.changeEvent)(st) || on(F.benchHost)(st)),
  ],
  [
    'receive: digest tree upkeep (VersionIndex, DigestTree)',
    all(on(F.onFrame), on(/@.*\/sync\/(version-index|digest-tree|hash)\.ts/)),
  ],
  ['receive: apply/admit (admitRemoteAt, store, lag, events)', all(on(F.onFrame), on(F.receive))],
  ['dedup (seen items)', all(on(F.onFrame), on(F.seen))],
  ['forward: route + queue (plan, links.send)', all(on(F.onFrame), on(F.route))],
  ['link control (control items in)', all(on(F.onFrame), on(F.linkControl))],
  ['frame parse (readFrame, onItem, members)', on(F.onFrame)],
  ['read: length-prefixed frame read (lpStream, Uint8ArrayList)', on(F.readAll)],
  ['forward: encodeFrame', all(on(F.flush), on(F.encodeFrame))],
  ['forward: encrypt (Noise)', all(on(F.flush), on(F.encrypt))],
  ['forward: socket write', all(on(F.flush), on(F.socket))],
  ['forward: yamux framing', all(on(F.flush), on(F.yamux))],
  ['forward: lp write, stream send, flush', on(F.flush)],
  [
    'read: yamux window update (a frame sent per frame received: encode, encrypt, write)',
    on(/^sendWindowUpdate@.*libp2p-yamux/),
  ],
  ['read: decrypt (Noise)', on(F.decrypt)],
  ['other encrypt (Noise: yamux window updates, control)', on(F.encrypt)],
  ['read: yamux demux, stream events', on(F.yamux)],
  ['read: socket + TCP/Noise stream plumbing', on(F.socket)],
  ['link control (timers, pings, digests)', on(F.linkControl)],
  ['mesh background (anti-entropy, gossip, membership, rpc)', on(F.background)],
  ['bench host: IPC, counting', on(F.benchHost)],
  ['timers (other)', on(F.timers)],
  ['other', () => true],
]

/** Inclusive markers (overlapping: a sample counts for each one on its stack). */
export const MARKERS: [string, RegExp][] = [
  ['RelayLinks.readAll (frame read + everything it calls)', F.readAll],
  ['Relay.onFrame', /^onFrame@.*\/mesh\/relay\.ts/],
  ['Relay.onItem', /^onItem@.*\/mesh\/relay\.ts/],
  ['readFrame', /^readFrame@/],
  ['Receiver.receive', F.receive],
  ['decodeBatch', F.decode],
  ['openEnvelope / OriginKeys.verify', F.envelope],
  ['Receiver.apply', /^apply@.*\/mesh\/receiver\.ts/],
  ['admitRemoteAt', /^admitRemoteAt@/],
  ['decodeStored (value decode)', F.decodeStored],
  ['change events (emit + listeners; own writes too)', F.changeEvent],
  ['Relay.route', /^route@.*\/mesh\/relay\.ts/],
  ['RelayLinks.send', /^send@.*\/relay-links\.ts/],
  ['RelayLinks.flush', F.flush],
  ['encodeFrame', F.encodeFrame],
  ['lpStream write (@libp2p/utils)', /^write@.*@libp2p\/utils\/dist\/src\/stream-utils/],
  ['lpStream/byteStream read (@libp2p/utils)', /^read@.*@libp2p\/utils\/dist\/src\/stream-utils/],
  ['LinkControl (any)', F.linkControl],
  ['Noise encrypt', F.encrypt],
  ['Noise decrypt', F.decrypt],
  ['yamux (any)', F.yamux],
  ['yamux sendWindowUpdate', /^sendWindowUpdate@.*libp2p-yamux/],
  ['yamux handleWindowUpdate (window updates received)', /^handleWindowUpdate@.*libp2p-yamux/],
  [
    'socket writes (writeBuffer/writev, any caller)',
    /^(writeBuffer|writev|writeGeneric|writevGeneric)@/,
  ],
  ['socket / TCP (any)', F.socket],
  ['EventTarget dispatch', /^dispatchEvent@/],
  ['timers (listOnTimeout)', F.timers],
  ['microtasks (runMicrotasks)', /^runMicrotasks@/],
  ['bench host (any)', F.benchHost],
]

/** Busy samples of one or more profiles, counted by package, stage and marker. */
export interface Tally {
  files: string[]
  /** Samples taken, and those not (idle). */
  samples: number
  busy: number
  packages: Map<string, number>
  stages: number[]
  /** Self samples per function ("name package") within each stage. */
  selfIn: Map<string, number>[]
  markers: number[]
}

const emptyTally = (): Tally => ({
  files: [],
  samples: 0,
  busy: 0,
  packages: new Map(),
  stages: STAGES.map(() => 0),
  selfIn: STAGES.map(() => new Map()),
  markers: MARKERS.map(() => 0),
})

const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n)

/**
 * Adds the busy samples of `file` to `into`. Samples are counted, not weighted by their
 * time deltas: on a saturated machine the sampler thread itself waits for a core, so
 * deltas run from 1 to 30 ms and a long one says nothing about where the main thread was
 * during it; each sample is one look at the main thread, wherever it is.
 */
export function tally(file: string, into = emptyTally()): Tally {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const ch of n.children ?? []) parent.set(ch, n.id)
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const keyOf = (n: ProfileNode) => `${n.callFrame.functionName}@${n.callFrame.url}`
  // Per profile node (not per sample): its stage and markers.
  const memo = new Map<number, { stage: number; markers: number[] }>()
  const classify = (id: number) => {
    const have = memo.get(id)
    if (have) return have
    const stack: string[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
      stack.push(keyOf(byId.get(at)!))
    const got = {
      stage: STAGES.findIndex(([, rule]) => rule(stack)),
      markers: MARKERS.flatMap(([, re], i) => (stack.some((k) => re.test(k)) ? [i] : [])),
    }
    memo.set(id, got)
    return got
  }
  into.files.push(file)
  for (const id of p.samples) {
    into.samples++
    const n = byId.get(id)!
    const pkg = packageOf(n.callFrame.url, n.callFrame.functionName)
    if (pkg === '(idle)') continue
    into.busy++
    bump(into.packages, pkg)
    const c = classify(id)
    into.stages[c.stage]!++
    bump(into.selfIn[c.stage]!, `${n.callFrame.functionName || '(anonymous)'} ${pkg}`)
    for (const m of c.markers) into.markers[m]!++
  }
  return into
}

type SoloProfile = NonNullable<NonNullable<ScaleResult['one']>['soloProfile']>

/** The soloProfile of `file` in the scale.json beside it, or in `fallback`. */
function soloProfileOf(file: string, fallback: string | undefined): SoloProfile | undefined {
  const beside = join(dirname(file), 'scale.json')
  const scaleJson = existsSync(beside) ? beside : fallback
  if (scaleJson === undefined) return undefined
  const { results } = JSON.parse(readFileSync(scaleJson, 'utf8')) as { results: ScaleResult[] }
  for (const r of results)
    for (const w of [r.one, r.many])
      if (w?.soloProfile && basename(w.soloProfile.file) === basename(file)) return w.soloProfile
  return undefined
}

const sorted = (xs: [string, number][]) => xs.filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const detail = Number(opt('detail') ?? 0)
  const files = args.filter((a) => a.endsWith('.cpuprofile'))
  const each = files.map((f) => tally(f))
  const t = emptyTally()
  for (const f of files) tally(f, t)
  const solos = files.map((f) => soloProfileOf(f, opt('scale')))
  const cpuUs = solos.reduce((a, s) => a + (s?.threadCpuUs ?? Number.NaN), 0)
  const received = solos.reduce((a, s) => a + (s?.received ?? Number.NaN), 0)
  // µs of the main thread's CPU per received write, per busy sample.
  const perSample = cpuUs / received / t.busy
  const share = (n: number, of: number) => `${((100 * n) / of).toFixed(1)} %`
  const spread = (pick: (x: Tally) => number) => {
    if (each.length < 2) return ''
    const xs = each.map((x) => (100 * pick(x)) / x.busy)
    return ` | ${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)} %`
  }
  const row = (name: string, n: number, pick?: (x: Tally) => number) =>
    `| ${name} | ${n} | ${share(n, t.busy)}${pick ? spread(pick) : each.length > 1 ? ' | ' : ''} | ${(n * perSample).toFixed(1)} |`
  console.log(
    `\n### ${files.map((f) => `${basename(dirname(f))}/${basename(f)}`).join(', ')}\n\n` +
      `${t.samples} samples, ${t.busy} busy (not idle); main thread ${(cpuUs / 1000).toFixed(0)} ms of CPU, ` +
      `${received} writes received: ${(cpuUs / received).toFixed(1)} µs per received write ` +
      `(per file: ${solos.map((s) => (s ? (s.threadCpuUs / s.received).toFixed(1) : '?')).join(', ')})`,
  )
  if (solos.every((s) => s !== undefined)) {
    const c = (k: string) => solos.reduce((a, s) => a + (s!.counters[k] ?? 0), 0) / received
    console.log(
      `\nPer received write: relay frames in ${c('framesIn').toFixed(3)}, out ${c('framesOut').toFixed(3)}; ` +
        `batches in ${c('batchesIn').toFixed(3)}; items relayed ${c('relayed').toFixed(3)}; ` +
        `duplicates ${c('duplicates').toFixed(3)}; own batches out ${c('batchesOut').toFixed(3)}; bytes out ${c('bytesOut').toFixed(1)}`,
    )
  }
  const head = (what: string) =>
    each.length > 1
      ? `\n| ${what} | samples | share of busy | per run | µs per received write |\n|---|---:|---:|---:|---:|`
      : `\n| ${what} | samples | share of busy | µs per received write |\n|---|---:|---:|---:|`
  console.log(head('package (self)'))
  for (const [name, n] of sorted([...t.packages]).slice(0, 14))
    console.log(row(name, n, (x) => x.packages.get(name) ?? 0))
  console.log(head('stage (each sample once)'))
  for (const [name, n] of sorted(STAGES.map(([name], i) => [name, t.stages[i]!]))) {
    const i = STAGES.findIndex(([s]) => s === name)
    console.log(row(name, n, (x) => x.stages[i]!))
    for (const [fn, m] of sorted([...t.selfIn[i]!]).slice(0, detail))
      console.log(row(`&nbsp;&nbsp;${fn}`, m))
  }
  console.log(head('entry point (inclusive, overlapping)'))
  for (const [name, n] of sorted(MARKERS.map(([name], i) => [name, t.markers[i]!]))) {
    const i = MARKERS.findIndex(([m]) => m === name)
    console.log(row(name, n, (x) => x.markers[i]!))
  }
}
