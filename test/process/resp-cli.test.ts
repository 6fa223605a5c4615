/**
 * `meshcache node` with its edge flags: an edge bound beyond loopback without a
 * credential refuses to start (one line, exit 2); the RESP and credential settings come
 * from the config file like the others; the RESP figures reach `/metrics`, `/status` and
 * the status page, which asks for the bearer token (headless Chromium).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, runCli, spawnNode } from '../helpers/cli.js'
import { RawResp } from '../helpers/resp.js'
import { waitFor } from '../helpers/wait.js'

const CHROMIUM = '/usr/bin/chromium'
let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshcache-resp-cli-'))
})
afterAll(async () => {
  await killAll()
  rmSync(dir, { recursive: true, force: true })
})

describe('meshcache node: edges beyond loopback need a credential', () => {
  it('refuses --http or --resp on every interface without a token or password: one line, exit 2', async () => {
    const http = await runCli([
      'node',
      '--http',
      '0.0.0.0:18090',
      '--listen',
      '/ip4/127.0.39.9/tcp/0',
    ])
    expect(http.code).toBe(2)
    expect(http.out.trim()).toBe(
      'meshcache: error: --http 0.0.0.0:18090 is reachable from other hosts: give --http-token-file, or bind a loopback address such as 127.0.0.1',
    )
    const resp = await runCli([
      'node',
      '--http',
      '127.0.39.9:0',
      '--listen',
      '/ip4/127.0.39.9/tcp/0',
      '--resp',
      '[::]:16399',
    ])
    expect(resp.code).toBe(2)
    expect(resp.out.trim().split('\n')).toEqual([
      'meshcache: error: --resp [::]:16399 is reachable from other hosts: give --resp-password-file, or bind a loopback address such as 127.0.0.1',
    ])
  })
})

describe('meshcache node: RESP and tokens from the config file', () => {
  it('serves RESP with AUTH, HTTP with tokens, public metrics, and the status page asks for the token', async () => {
    const tokens = join(dir, 'tokens')
    writeFileSync(tokens, 'first-token-aaaaaaaa\n\n# rotated in:\nsecond-token-bbbbbbbb\n')
    const password = join(dir, 'password')
    writeFileSync(password, 'resp-password\n')
    const config = join(dir, 'config.json')
    writeFileSync(
      config,
      JSON.stringify({
        region: 'us-east',
        listen: '/ip4/127.0.39.1/tcp/0',
        http: '127.0.39.1:0',
        resp: '127.0.39.1:0',
        respPasswordFile: password,
        respKeyspaces: 'default,sessions',
        respPrefixRouting: true,
        httpTokenFile: tokens,
        metricsPublic: true,
      }),
    )
    const node = await spawnNode(['--config', config])
    expect(node.info.resp).toMatch(/^redis:\/\/127\.0\.39\.1:\d+$/)
    expect(node.output()).toContain(`resp ${node.info.resp}`)
    const port = Number(node.info.resp!.split(':').pop())
    const c = await RawResp.open('127.0.39.1', port)
    try {
      expect(await c.call('SET', 'sessions:a', '1')).toBe('-NOAUTH Authentication required.\r\n')
      expect(await c.call('AUTH', 'resp-password')).toBe('+OK\r\n')
      expect(await c.call('SET', 'sessions:a', 'v')).toBe('+OK\r\n')
      expect(await c.call('GET', 'sessions:a')).toBe('$1\r\nv\r\n')
    } finally {
      c.close()
    }
    const http = (path: string, token?: string) =>
      fetch(
        `${node.info.http}${path}`,
        token ? { headers: { authorization: `Bearer ${token}` } } : {},
      )
    expect((await http('/v1/sessions/a')).status).toBe(401)
    const value = await http('/v1/sessions/a', 'second-token-bbbbbbbb')
    expect(value.headers.get('content-type')).toBe('application/octet-stream')
    expect(await value.text()).toBe('v')
    const metrics = await (await http('/metrics')).text()
    expect(metrics).toContain('meshcache_resp_commands_total{command="set"} 2')
    const status = (await (await http('/status')).json()) as {
      resp: { connections: number; commands: object }
    }
    expect(status.resp.commands).toHaveProperty('auth')

    if (!existsSync(CHROMIUM)) {
      console.warn(`status page token prompt: SKIPPED, no browser at ${CHROMIUM}`)
      return
    }
    const profile = mkdtempSync(join(dir, 'chromium-'))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
      timeout: 30_000,
    })
    try {
      // metricsPublic opens /status: restart the check with a node that keeps it closed.
      const closed = join(dir, 'closed.json')
      writeFileSync(
        closed,
        JSON.stringify({
          listen: '/ip4/127.0.39.2/tcp/0',
          http: '127.0.39.2:0',
          resp: '127.0.39.2:0',
          httpTokenFile: tokens,
        }),
      )
      const locked = await spawnNode(['--config', closed])
      const r = await RawResp.open('127.0.39.2', Number(locked.info.resp!.split(':').pop()))
      await r.call('SET', 'k', 'v')
      await r.call('GET', 'k')
      r.close()
      const page = await context.newPage()
      await page.goto(`${locked.info.http}/`)
      await page.getByTestId('token-form').waitFor({ state: 'visible', timeout: 10_000 })
      await page.getByTestId('token-input').fill('first-token-aaaaaaaa')
      await page.getByTestId('token-input').press('Enter')
      await page.getByTestId('card-resp').waitFor({ state: 'visible', timeout: 10_000 })
      await waitFor(
        async () => (await page.getByTestId('resp-command').count()) >= 2,
        'RESP commands listed on the page',
      )
      expect(
        await page
          .locator('[data-testid="resp-command"][data-command="get"] td')
          .nth(1)
          .textContent(),
      ).toBe('1')
      expect(await page.getByTestId('token-form').isHidden()).toBe(true)
    } finally {
      await context.close()
    }
  }, 90_000)
})
