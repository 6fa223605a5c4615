/**
 * The status page's mesh card in a real browser: three regions of two real nodes each
 * behind the simulated WAN (the demo's latencies), one node's page opened in headless
 * Chromium (Debian's package, driven by playwright-core), asserting it draws the lag
 * matrix, the members per region with their relay links, and their clocks and flags;
 * writes the screenshot the README shows (docs/images/mesh-view.png).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/api/cache.js'
import { type HttpApi, startHttpApi } from '../../src/http/http-api.js'
import { createCache } from '../../src/node/create-cache.js'
import type { MeshMember, MeshView } from '../../src/ports/mesh-view.js'
import { createTestMesh, type TestMesh } from '../../src/testing/index.js'
import { waitFor } from '../helpers/wait.js'

const CHROMIUM = '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
const SKIP_REASON = `SKIPPED: no browser at ${CHROMIUM} (install it: apt-get install chromium)`
if (!HAVE_CHROMIUM) console.warn(`mesh view browser test ${SKIP_REASON}`)
const SCREENSHOT = fileURLToPath(new URL('../../docs/images/mesh-view.png', import.meta.url))
const REGIONS = ['ap-south', 'eu-west', 'us-east']
const LATENCY = { 'us-east|eu-west': 40, 'us-east|ap-south': 95, 'eu-west|ap-south': 60 }

/** A new page that collects its errors and the URLs it asks for. */
async function open(context: BrowserContext) {
  const page = await context.newPage()
  const errors: string[] = []
  const requests: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text())
  })
  page.on('request', (req) => requests.push(req.url()))
  return { page, errors, requests }
}

const texts = (page: Page, selector: string) =>
  page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ''))
const attrs = (page: Page, selector: string, name: string) =>
  page.$$eval(selector, (els, n) => els.map((e) => e.getAttribute(n) ?? ''), name)

describe.skipIf(!HAVE_CHROMIUM)(
  HAVE_CHROMIUM
    ? 'mesh view on the status page in headless Chromium (three regions, real nodes)'
    : `mesh view on the status page: ${SKIP_REASON}`,
  () => {
    let mesh: TestMesh | undefined
    let api: HttpApi | undefined
    let context: BrowserContext | undefined
    let profile: string | undefined
    let viewer: Cache<unknown>

    beforeAll(async () => {
      mesh = await createTestMesh({
        regions: { 'us-east': 2, 'eu-west': 2, 'ap-south': 2 },
        oneWayMs: LATENCY,
      })
      viewer = mesh.region('us-east')[0]!
      api = await startHttpApi(viewer, { host: '127.0.95.1', port: 0 })
      profile = mkdtempSync(join(tmpdir(), 'meshcache-chromium-'))
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1280, height: 900 },
        timeout: 30_000,
      })
    }, 60_000)

    afterAll(async () => {
      try {
        await context?.close()
        await api?.close()
      } finally {
        await mesh?.close()
        if (profile) rmSync(profile, { recursive: true, force: true })
      }
    })

    it('draws the lag matrix, every member by region with its links, clocks; screenshot', async () => {
      const m = mesh!
      // Writes from every node for two seconds: every region receives every region's.
      const end = Date.now() + 2_000
      for (let i = 0; Date.now() < end; i++) {
        await Promise.all(m.caches.map((c, n) => c.set(`k-${n}-${i}`, i)))
        await new Promise((r) => setTimeout(r, 50))
      }
      await waitFor(
        () => {
          const v = viewer.admin.mesh!.view()
          return (
            v.totals.summarized === 6 &&
            v.lag.filter((c) => c.recentCount > 0).length === 9 &&
            v.members.filter((x) => x.hub).length === 3
          )
        },
        'six summaries with lag from every region, three hubs',
        20_000,
      )
      const { page, errors, requests } = await open(context!)
      try {
        await page.goto(`${api!.url}/`, { waitUntil: 'load', timeout: 10_000 })
        await page.waitForSelector('[data-testid="card-mesh"]:not([hidden])', { timeout: 10_000 })
        await page.waitForSelector('[data-testid="mesh-lag-p99"]', { timeout: 10_000 })

        // The matrix: a row and a column per region, a p50/p99 in all nine cells.
        const cells = await page.$$('[data-testid="mesh-lag-cell"]')
        expect(cells).toHaveLength(9)
        expect(new Set(await attrs(page, '[data-testid="mesh-lag-cell"]', 'data-to'))).toEqual(
          new Set(REGIONS),
        )
        for (const t of await texts(page, '[data-testid="mesh-lag-cell"]'))
          expect(t).toMatch(/^\d+(\.\d)?s? \/ \d+(\.\d)?s?( \*)?$/)

        // The graph: one labelled cluster per region, every member in its region, the hub
        // links between regions and the relay tree inside each.
        expect((await texts(page, '[data-testid="mesh-region"]')).sort()).toEqual(
          REGIONS.map((r) => `${r} \u00b7 2`),
        )
        const drawn = await page.$$eval('[data-testid="mesh-node"]', (els) =>
          els.map((e) => `${e.getAttribute('data-region')} ${e.getAttribute('data-peer-id')}`),
        )
        expect(drawn.sort()).toEqual(m.caches.map((c) => `${c.region} ${c.nodeId}`).sort())
        const kinds = await attrs(page, '[data-testid="mesh-edge"]', 'data-kind')
        expect(kinds.filter((k) => k === 'hubs')).toHaveLength(3)
        expect(kinds.filter((k) => k === 'tree')).toHaveLength(3)

        // The members: six rows; clock corrections and offsets as signed durations.
        expect(await page.$$('[data-testid="mesh-member"]')).toHaveLength(6)
        for (const t of await texts(page, '[data-testid="mesh-clock-correction"]'))
          expect(t).toMatch(/^[+-]?\d+(\.\d)? (ms|s)$/)
        const offsets = await texts(page, '[data-testid="mesh-clock-offset"]')
        expect(offsets.filter((t) => /^[+-]?\d+(\.\d)? (ms|s)$/.test(t))).toHaveLength(5)
        expect(await page.textContent('[data-testid="mesh-summary"]')).toMatch(
          /^6 members in 3 regions/,
        )

        mkdirSync(dirname(SCREENSHOT), { recursive: true })
        await (await page.$('[data-testid="card-mesh"]'))!.screenshot({ path: SCREENSHOT })

        expect(errors).toEqual([])
        const origin = new URL(api!.url).origin
        for (const u of requests) expect(new URL(u).origin).toBe(origin)
        expect(new Set(requests.map((u) => new URL(u).pathname))).toEqual(
          new Set(['/', '/status', '/status/mesh']),
        )
      } finally {
        await page.close()
      }
    }, 60_000)

    it('shows flags, links down and who is behind; draws a 100-node mesh', async () => {
      const real = viewer.admin.mesh!.view()
      // Members 0..3 are the hubs of the four regions; member i is in region i % 4.
      const regions = ['r-a', 'r-b', 'r-c', 'r-d']
      const member = (i: number): MeshMember => ({
        id: `node-${i}`,
        region: regions[i % 4]!,
        self: i === 0,
        hub: i < 4,
        ...(i < 4 ? {} : { parent: `node-${i % 4}` }),
        summaryAgeMs: 1_000,
        ready: true,
        links: { planned: 8, connected: 8, down: [] },
        clock: {
          correctionMs: 0,
          meshOffsetMs: 0,
          peersMeasured: 8,
          skewed: false,
          refusingWrites: false,
        },
        queuedItems: 0,
        droppedRecently: 0,
        flags: [],
        behind: false,
      })
      const members = Array.from({ length: 100 }, (_, i) => member(i))
      const big: MeshView = {
        ...real,
        regions,
        members,
        edges: members.flatMap((x) =>
          x.parent ? [{ a: x.id, b: x.parent, kind: 'tree' as const }] : [],
        ),
        lag: [],
        totals: { members: 100, summarized: 100, flagged: 1, behind: 1 },
      }
      const bad = big.members[50]!
      bad.flags = ['clock-skewed', 'lagging', 'links-down']
      bad.behind = true
      big.edges.push({ a: bad.id, b: big.members[51]!.id, kind: 'down' })

      const { page, errors } = await open(context!)
      try {
        await page.route(`${api!.url}/status/mesh`, (route) => route.fulfill({ json: big }))
        await page.goto(`${api!.url}/`, { waitUntil: 'load', timeout: 10_000 })
        await page.waitForSelector('[data-testid="mesh-flag"][data-flag="lagging"]', {
          timeout: 10_000,
        })
        expect(await page.$$('[data-testid="mesh-node"]')).toHaveLength(100)
        expect(await page.$$('[data-testid="mesh-member"]')).toHaveLength(100)
        // Flagged members come first in the table; the behind one is red in the graph.
        expect(
          await page.getAttribute('[data-testid="mesh-member"]:first-child', 'data-peer-id'),
        ).toBe(bad.id)
        expect(
          await page.getAttribute(`[data-testid="mesh-node"][data-peer-id="${bad.id}"]`, 'class'),
        ).toContain('behind')
        expect(await attrs(page, '[data-testid="mesh-edge"]', 'data-kind')).toContain('down')
        expect(await page.textContent('[data-testid="mesh-summary"]')).toBe(
          '100 members in 4 regions \u00b7 1 flagged \u00b7 1 behind',
        )
        expect(errors).toEqual([])
      } finally {
        await page.close()
      }
    }, 30_000)

    it('hides the card on a node outside a mesh', async () => {
      const alone = await createCache({})
      const single = await startHttpApi(alone, { host: '127.0.95.2', port: 0 })
      const { page, errors } = await open(context!)
      try {
        const answered = page.waitForResponse((r) => r.url().endsWith('/status/mesh'), {
          timeout: 10_000,
        })
        await page.goto(`${single.url}/`, { waitUntil: 'load', timeout: 10_000 })
        expect((await answered).status()).toBe(409)
        await page.waitForSelector('[data-testid="conn-state"][data-state="live"]', {
          timeout: 10_000,
        })
        expect(await page.isHidden('[data-testid="card-mesh"]')).toBe(true)
        // The 409 is the only error the browser logs (a failed fetch), and it is expected.
        expect(errors.filter((e) => !/409/.test(e))).toEqual([])
      } finally {
        await page.close()
        await single.close()
        await alone.close()
      }
    }, 30_000)
  },
)
