/**
 * How `meshcache node` fails to start (issue 22): on a Node.js older than 22 it says so in
 * one line and exits 1 before anything else; a libp2p port in use is one line and exit
 * 1, like an HTTP port in use (it was libp2p's advice with a stack, exit 2).
 */
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { MIN_NODE_MAJOR, nodeVersionProblem } from '../../src/cli/node-version.js'
import { killAll, runCli, spawnNode } from '../helpers/cli.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

afterAll(async () => {
  await killAll()
})

/** A Node.js binary on this machine older than MIN_NODE_MAJOR (the machine's own node is 20). */
function oldNode(): string | undefined {
  for (const bin of ['/usr/bin/node', '/bin/node', '/usr/local/bin/node']) {
    try {
      const v = execFileSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
      if (Number(v.split('.')[0]) < MIN_NODE_MAJOR) return bin
    } catch {
      // not there
    }
  }
  return undefined
}
const OLD_NODE = oldNode()

function run(bin: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(bin, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  proc.stderr.on('data', (d: Buffer) => {
    out += d.toString()
  })
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

describe('meshcache on a Node.js that is too old', () => {
  const version = OLD_NODE
    ? execFileSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
    : ''
  const line = `meshcache needs Node.js >= ${MIN_NODE_MAJOR}, this is v${version}\n`

  it.skipIf(OLD_NODE === undefined)('bin/meshcache.js prints one line and exits 1', async () => {
    const r = await run(OLD_NODE!, [
      'bin/meshcache.js',
      'node',
      '--listen',
      '/ip4/127.0.1.43/tcp/0',
    ])
    expect(r).toEqual({ code: 1, out: line })
  })

  it.skipIf(OLD_NODE === undefined)(
    'the CLI source prints the same line and exits 1 before starting a node',
    async () => {
      const r = await run(OLD_NODE!, [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'node',
        '--listen',
        '/ip4/127.0.1.43/tcp/0',
        '--http',
        '127.0.1.43:0',
      ])
      expect(r).toEqual({ code: 1, out: line })
    },
  )

  it('the version rule follows package.json engines, in the launcher too', () => {
    const engines = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).engines.node
    expect(engines).toBe(`>=${MIN_NODE_MAJOR}`)
    expect(readFileSync(`${ROOT}/bin/meshcache.js`, 'utf8')).toContain(
      `const MIN_NODE_MAJOR = ${MIN_NODE_MAJOR}\n`,
    )
    expect(nodeVersionProblem('20.20.2')).toBe('meshcache needs Node.js >= 22, this is v20.20.2')
    expect(nodeVersionProblem('22.0.0')).toBeUndefined()
    expect(nodeVersionProblem('24.21.0')).toBeUndefined()
  })
})

describe('meshcache node: a taken port is one line and exit 1', () => {
  it('a libp2p listen address in use', async () => {
    const first = await spawnNode(['--listen', '/ip4/127.0.1.44/tcp/0', '--http', '127.0.1.44:0'])
    const taken = first.info.addresses[0]!.replace(/\/p2p\/.*$/, '')
    const r = await runCli(['node', '--listen', taken, '--http', '127.0.1.44:0'])
    expect(r).toEqual({
      code: 1,
      out: `meshcache: error: libp2p address ${taken} is in use (--listen)\n`,
    })
    const http = new URL(first.info.http).host
    const h = await runCli(['node', '--listen', '/ip4/127.0.1.44/tcp/0', '--http', http])
    expect(h).toEqual({ code: 1, out: `meshcache: error: http address ${http} is in use\n` })
  })
})
