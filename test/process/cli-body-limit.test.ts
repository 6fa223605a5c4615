/**
 * Bodies over `--max-body-bytes` sent to a `meshcache node` process by real clients:
 * Node's `fetch` and curl read the documented 413 JSON, never a reset (issue 22: the node
 * closed while they were still sending). The Python client's side is in
 * clients/python/tests/test_node.py.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killAll, type NodeProcess, spawnNode } from '../helpers/cli.js'

const run = promisify(execFile)
const MIB = 1024 * 1024
const LIMIT = 1_100_000 // the node's default --max-body-bytes

let node: NodeProcess
let dir: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshcache-body-'))
  node = await spawnNode([
    '--region',
    'us-east',
    '--listen',
    '/ip4/127.0.1.41/tcp/0',
    '--http',
    '127.0.1.41:0',
  ])
})
afterAll(async () => {
  await killAll()
  rmSync(dir, { recursive: true, force: true })
})

const expected = {
  error: 'ERR_BODY_TOO_LARGE',
  message: expect.stringContaining(`over the limit of ${LIMIT} bytes`),
  maxBodyBytes: LIMIT,
}

async function curlPut(bytes: number, headers: string[] = []) {
  const file = join(dir, `body-${bytes}`)
  writeFileSync(file, Buffer.alloc(bytes, 120))
  const args = ['-sS', '-X', 'PUT', '--data-binary', `@${file}`, '-w', '\n%{http_code}']
  for (const h of headers) args.push('-H', h)
  const { stdout } = await run('curl', [...args, `${node.info.http}/v1/default/big`], {
    timeout: 30_000,
  })
  const cut = stdout.lastIndexOf('\n')
  return { status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) }
}

describe('meshcache node: bodies over --max-body-bytes get their 413', () => {
  it("Node's fetch sending a 64 MiB body reads the 413 JSON", async () => {
    for (const bytes of [64 * MIB, 2_000_000]) {
      const res = await fetch(`${node.info.http}/v1/default/big`, {
        method: 'PUT',
        body: new Uint8Array(bytes),
        headers: { 'content-type': 'application/octet-stream' },
        signal: AbortSignal.timeout(30_000),
      })
      expect(res.status).toBe(413)
      expect(res.headers.get('x-max-body-bytes')).toBe(String(LIMIT))
      expect(await res.json()).toEqual(expected)
    }
  }, 60_000)

  it('curl reads the 413 JSON, with and without Expect: 100-continue, chunked or not', async () => {
    for (const headers of [[], ['Expect:'], ['Transfer-Encoding: chunked', 'Expect:']]) {
      for (const bytes of [2_000_000, 64 * MIB]) {
        const res = await curlPut(bytes, headers)
        expect(res, `${bytes} bytes, ${headers.join(' ') || 'curl defaults'}`).toEqual({
          status: 413,
          body: expected,
        })
      }
    }
  }, 60_000)
})
