/**
 * The live status page in a real browser: a 3-region mesh of `meshcache node` processes,
 * one node's page opened in headless Chromium (Debian's package, driven by
 * playwright-core), asserting it shows every node of the mesh; writes the screenshot the
 * README shows (docs/status-page.png).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statusPageHtml } from '../../src/http/status-page.js'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

const CHROMIUM = '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
const SKIP_REASON = `SKIPPED: no browser at ${CHROMIUM} (install it: apt-get install chromium)`
if (!HAVE_CHROMIUM) console.warn(`status page browser test ${SKIP_REASON}`)
const SCREENSHOT = fileURLToPath(new URL('../../docs/status-page.png', import.meta.url))
const REGIONS = ['us-east', 'eu-west', 'ap-south'] as const

interface Status {
  node: string
  region: string
  mesh: {
    peers: { id: string; region?: string; rttMs?: number; clockOffsetMs?: number }[]
    lagByRegion: Record<string, { count: number }>
    clock?: { correctionMs: number; skewed: boolean; peersMeasured: number }
  }
}

const http = (n: NodeProcess, path: string, init?: RequestInit) =>
  fetch(`${n.info.http}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })
const status = async (n: NodeProcess) => (await (await http(n, '/status')).json()) as Status

describe('status page: self-contained document', () => {
  it('has its CSS and script inline and loads nothing from elsewhere', () => {
    const html = statusPageHtml()
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).not.toMatch(/<script[^>]+src=|<img\b|<iframe\b|@import|url\(/i)
    // One link: the icon, inline (else the browser asks for /favicon.ico).
    expect(html.match(/<link\b[^>]*>/g)).toEqual([
      expect.stringMatching(/^<link rel="icon" href="data:image\/svg\+xml,[^"]+">$/),
    ])
    // The only absolute URL is the SVG namespace (an identifier, never fetched).
    expect(new Set(html.match(/https?:\/\/[^\s'"]+/g))).toEqual(
      new Set(['http://www.w3.org/2000/svg']),
    )
    // Received text is set as text, never parsed as HTML.
    expect(html).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
  })
})

describe.skipIf(!HAVE_CHROMIUM)(
  HAVE_CHROMIUM
    ? 'status page in headless Chromium (3-region mesh of node processes)'
    : `status page in headless Chromium: ${SKIP_REASON}`,
  () => {
    let nodes: NodeProcess[] = []
    let context: BrowserContext | undefined
    let profile: string | undefined

    beforeAll(async () => {
      const first = await spawnNode([
        '--region',
        REGIONS[0],
        '--listen',
        '/ip4/127.0.94.1/tcp/0',
        '--http',
        '127.0.94.1:0',
      ])
      const others = await Promise.all(
        REGIONS.slice(1).map((region, i) =>
          spawnNode([
            '--region',
            region,
            '--listen',
            `/ip4/127.0.94.${i + 2}/tcp/0`,
            '--http',
            `127.0.94.${i + 2}:0`,
            '--peer',
            first.info.addresses[0]!,
          ]),
        ),
      )
      nodes = [first, ...others]
      await waitFor(
        async () =>
          (await Promise.all(nodes.map(status))).every(
            (s) => s.mesh.peers.filter((p) => p.region !== undefined).length === 2,
          ),
        'three nodes fully connected, regions announced',
        20_000,
      )
      profile = mkdtempSync(join(tmpdir(), 'meshcache-chromium-'))
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1280, height: 800 },
        timeout: 30_000,
      })
    }, 60_000)

    afterAll(async () => {
      try {
        await context?.close()
      } finally {
        await killAll()
        if (profile) rmSync(profile, { recursive: true, force: true })
      }
    })

    it('shows every node of the mesh, RTTs, lag histograms and counters; screenshot', async () => {
      const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess]
      // Traffic for the picture: writes from every region reach `a` (lag per origin
      // region), reads on `a` give a hit ratio.
      for (const [i, n] of [a, b, c].entries()) {
        for (let k = 0; k < 20; k++) {
          const res = await http(n, `/v1/${k % 2 ? 'sessions' : 'users'}/${i}-${k}?ttl=5m`, {
            method: 'PUT',
            body: JSON.stringify({ k }),
            headers: { 'content-type': 'application/json' },
          })
          expect(res.ok).toBe(true)
        }
      }
      await waitFor(
        async () => {
          const s = await status(a)
          return (
            (s.mesh.lagByRegion['eu-west']?.count ?? 0) >= 20 &&
            (s.mesh.lagByRegion['ap-south']?.count ?? 0) >= 20 &&
            s.mesh.peers.every((p) => p.rttMs !== undefined && p.clockOffsetMs !== undefined)
          )
        },
        'writes of eu-west and ap-south replicated to us-east, peers pinged, clocks measured',
        20_000,
      )
      for (let k = 0; k < 40; k++) {
        const key = k % 5 === 4 ? `missing-${k}` : `${k % 3}-${2 * (k % 10)}`
        await http(a, `/v1/users/${key}`)
      }

      // The node serves the page itself, at / and /ui.
      for (const path of ['/', '/ui']) {
        const res = await http(a, path)
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toMatch(/^text\/html/)
        expect(await res.text()).toBe(statusPageHtml())
      }
      const page = await context!.newPage()
      const errors: string[] = []
      const requests: string[] = []
      page.on('pageerror', (err) => errors.push(err.message))
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(msg.text())
      })
      page.on('request', (req) => requests.push(req.url()))
      try {
        await page.goto(`${a.info.http}/`, { waitUntil: 'load', timeout: 10_000 })
        await page.waitForSelector('[data-testid="conn-state"][data-state="live"]', {
          timeout: 10_000,
        })
        expect(await page.textContent('[data-testid="node-id"]')).toBe(a.info.peerId)
        expect(await page.textContent('[data-testid="node-region"]')).toBe('us-east')

        // Every node of the mesh, each in its region's group.
        for (const n of [b, c]) {
          const row = await page.waitForSelector(
            `[data-testid="region-group"][data-region="${n.info.region}"] [data-testid="peer"][data-peer-id="${n.info.peerId}"]`,
            { timeout: 10_000 },
          )
          expect(await row.textContent()).toContain(n.info.peerId)
        }
        const self = await page.waitForSelector(
          `[data-testid="region-group"][data-region="us-east"] [data-testid="self"]`,
          { timeout: 10_000 },
        )
        expect(await self.textContent()).toContain(a.info.peerId)
        const regions = await page.$$eval('[data-testid="region-group"]', (els) =>
          els.map((e) => e.getAttribute('data-region')),
        )
        expect(regions.sort()).toEqual([...REGIONS].sort())

        // RTT of both peers, as numbers.
        const rtts = await page.$$eval('[data-testid="peer"] [data-testid="peer-rtt"]', (els) =>
          els.map((e) => e.textContent ?? ''),
        )
        expect(rtts).toHaveLength(2)
        for (const t of rtts) expect(t).toMatch(/^\d+(\.\d)? (ms|s)$/)

        // Clock offset of each peer, and this node's correction to the mesh median.
        const offsets = await page.$$eval(
          '[data-testid="peer"] [data-testid="peer-clock-offset"]',
          (els) => els.map((e) => e.textContent ?? ''),
        )
        expect(offsets).toHaveLength(2)
        for (const t of offsets) expect(t).toMatch(/^[+-]?\d+(\.\d)? (ms|s)$/)
        expect(await page.textContent('[data-testid="clock-correction"]')).toMatch(/\d/)

        // Lag histograms (SVG bars) per origin region, with p50/p99.
        for (const origin of ['eu-west', 'ap-south']) {
          const sel = `[data-testid="lag-histogram"][data-region="${origin}"]`
          await page.waitForSelector(`${sel} svg rect:not([data-count="0"])`, { timeout: 10_000 })
          const bars = await page.$$eval(`${sel} svg rect`, (els) =>
            els.map((e) => Number(e.getAttribute('data-count'))),
          )
          expect(bars.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(20)
          expect(await page.textContent(`${sel} [data-testid="lag-p50"]`)).toMatch(/\d/)
          expect(await page.textContent(`${sel} [data-testid="lag-p99"]`)).toMatch(/\d/)
        }

        // Hit ratio, counters, keyspaces, reject codes.
        expect(await page.textContent('[data-testid="hit-ratio"]')).toMatch(/^\d+\.\d%$/)
        expect(await page.textContent('[data-testid="counter"][data-name="hits"]')).not.toBe('0')
        await page.waitForSelector('[data-testid="keyspace"][data-keyspace="sessions"]', {
          timeout: 10_000,
        })
        expect(await page.$$('[data-testid="rejected-code"]')).not.toHaveLength(0)

        // A second poll at least: the reads/s rate is computed from two snapshots.
        await page
          .locator('[data-testid="counter"][data-name="reads/s"]')
          .filter({ hasText: /\d/ })
          .waitFor({ timeout: 10_000 })
        await page.screenshot({ path: SCREENSHOT, fullPage: true })

        expect(errors).toEqual([])
        // Same origin only: the document, then /status and /status/mesh polls.
        const origin = new URL(a.info.http).origin
        for (const u of requests) expect(new URL(u).origin).toBe(origin)
        expect(new Set(requests.map((u) => new URL(u).pathname))).toEqual(
          new Set(['/', '/status', '/status/mesh']),
        )
      } finally {
        await page.close()
      }
    })

    it('formats clock offsets and flags a skewed clock', async () => {
      const a = nodes[0]!
      const page = await context!.newPage()
      try {
        await page.route(`${a.info.http}/status`, async (route) => {
          const res = await route.fetch()
          const s = (await res.json()) as Status
          // One peer measured, one not yet (the field is absent then); this node skewed.
          s.mesh.peers[0]!.clockOffsetMs = -3.4
          delete s.mesh.peers[1]!.clockOffsetMs
          s.mesh.clock = { correctionMs: 1_500, skewed: true, peersMeasured: 1 }
          await route.fulfill({ json: s })
        })
        await page.goto(`${a.info.http}/`, { waitUntil: 'load', timeout: 10_000 })
        await page.waitForSelector('[data-testid="peer"] [data-testid="peer-clock-offset"]', {
          timeout: 10_000,
        })
        const offsets = await page.$$eval(
          '[data-testid="peer"] [data-testid="peer-clock-offset"]',
          (els) => els.map((e) => e.textContent).sort(),
        )
        expect(offsets).toEqual(['-3.4 ms', '\u2014'])
        expect(await page.textContent('[data-testid="clock-correction"]')).toBe('+1.5 s')
        expect(await page.isVisible('[data-testid="clock-skewed"]')).toBe(true)
      } finally {
        await page.close()
      }
    })

    it("computes rates and shows the time on the node's clock (the stamp of /status), not the browser's", async () => {
      const a = nodes[0]!
      const page = await context!.newPage()
      try {
        const t0 = Date.UTC(2024, 0, 2, 3, 4, 5)
        let polls = 0
        await page.route(`${a.info.http}/status`, async (route) => {
          const res = await route.fetch()
          const s = (await res.json()) as Status & { time: number; hits: number; misses: number }
          // Each snapshot 2 s after the one before on the node's clock, with 100 more reads:
          // 50 reads/s, however far apart the browser's polls are.
          s.time = t0 + polls * 2_000
          s.hits = 1_000 + polls * 100
          s.misses = 0
          polls++
          await route.fulfill({ json: s })
        })
        await page.goto(`${a.info.http}/`, { waitUntil: 'load', timeout: 10_000 })
        const reads = page.locator('[data-testid="counter"][data-name="reads/s"]')
        await reads.filter({ hasText: /\d/ }).waitFor({ timeout: 10_000 })
        expect(await reads.textContent()).toBe('50')
        const shown = await page.textContent('[data-testid="updated"]')
        const stamps = await page.evaluate(
          ([t, n]) =>
            Array.from({ length: n }, (_, k) => new Date(t + k * 2_000).toLocaleTimeString()),
          [t0, polls] as const,
        )
        expect(stamps).toContain(shown)
      } finally {
        await page.close()
      }
    })

    it('says so when the node stops answering, keeping the last figures', async () => {
      const c = nodes[2]!
      const page = await context!.newPage()
      try {
        await page.goto(`${c.info.http}/`, { waitUntil: 'load', timeout: 10_000 })
        await page.waitForSelector('[data-testid="conn-state"][data-state="live"]', {
          timeout: 10_000,
        })
        c.proc.kill('SIGKILL')
        await page.waitForSelector('[data-testid="conn-state"][data-state="error"]', {
          timeout: 10_000,
        })
        // How old the figures are, on the node's clock: the time of the last snapshot.
        expect(await page.textContent('[data-testid="conn-text"]')).toMatch(
          /unreachable.* \u00b7 last data \S/,
        )
        expect(await page.textContent('[data-testid="node-region"]')).toBe('ap-south')
      } finally {
        await page.close()
      }
    })
  },
)
