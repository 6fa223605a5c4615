import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseNodeSettings } from '../../src/cli/node-settings.js'
import { isLoopbackHost } from '../../src/edge/bind-address.js'
import { CredentialSet, readCredentialFile } from '../../src/edge/credentials.js'

afterEach(() => {
  vi.unstubAllEnvs()
})

const dir = mkdtempSync(join(tmpdir(), 'meshcache-edge-'))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('edge settings of meshcache node', () => {
  it('has RESP off, no tokens and closed metrics by default', () => {
    const s = parseNodeSettings([])
    expect(s.resp).toBeUndefined()
    expect(s.httpTokens).toBeUndefined()
    expect(s.metricsPublic).toBe(false)
  })

  it('reads --resp and its options from flags, environment and config file', () => {
    const pw = file('pw', 'secret\n')
    expect(
      parseNodeSettings(['--resp', '127.0.0.1:6379', '--resp-keyspaces', 'default,sessions']).resp,
    ).toEqual({
      host: '127.0.0.1',
      port: 6379,
      keyspaces: ['default', 'sessions'],
      prefixRouting: false,
      maxClients: 10_000,
    })
    vi.stubEnv('MESHCACHE_RESP', '127.0.0.2:7000')
    vi.stubEnv('MESHCACHE_RESP_PASSWORD_FILE', pw)
    vi.stubEnv('MESHCACHE_RESP_PREFIX_ROUTING', '1')
    vi.stubEnv('MESHCACHE_METRICS_PUBLIC', '0')
    expect(parseNodeSettings([])).toMatchObject({
      resp: { host: '127.0.0.2', port: 7000, passwords: ['secret'], prefixRouting: true },
      metricsPublic: false,
    })
    vi.unstubAllEnvs()
    const config = file(
      'c.json',
      JSON.stringify({ resp: '127.0.0.3:7001', respMaxClients: 5, metricsPublic: true }),
    )
    expect(parseNodeSettings(['--config', config])).toMatchObject({
      resp: { host: '127.0.0.3', port: 7001, maxClients: 5 },
      metricsPublic: true,
    })
  })

  it('refuses bad values naming the flag', () => {
    expect(() => parseNodeSettings(['--resp', 'nope'])).toThrow('--resp must be HOST:PORT')
    expect(() => parseNodeSettings(['--resp', '127.0.0.1:1', '--resp-keyspaces', 'a,a'])).toThrow(
      'lists a keyspace twice',
    )
    expect(() =>
      parseNodeSettings(['--resp', '127.0.0.1:1', '--resp-keyspaces', 'bad name']),
    ).toThrow('--resp-keyspaces')
    expect(() => parseNodeSettings(['--resp-password-file', file('p2', 'x')])).toThrow(
      '--resp-password-file needs --resp',
    )
    expect(() => parseNodeSettings(['--http-token-file', file('empty', '\n# none\n')])).toThrow(
      'holds no secret',
    )
    expect(() => parseNodeSettings(['--http-tls-cert', file('c', 'x')])).toThrow('go together')
    expect(() =>
      parseNodeSettings(['--config', file('b.json', JSON.stringify({ metricsPublic: 'yes' }))]),
    ).toThrow('config metricsPublic must be true or false')
  })

  it('refuses an edge beyond loopback without its credential, and takes it with one', () => {
    expect(() => parseNodeSettings(['--http', '0.0.0.0:8080'])).toThrow('--http-token-file')
    expect(() => parseNodeSettings(['--http', '10.1.2.3:8080'])).toThrow(
      'reachable from other hosts',
    )
    expect(() => parseNodeSettings(['--resp', '0.0.0.0:6379'])).toThrow('--resp-password-file')
    const s = parseNodeSettings([
      '--http',
      '0.0.0.0:8080',
      '--http-token-file',
      file('t', 'a\nb\n'),
      '--resp',
      '0.0.0.0:6379',
      '--resp-password-file',
      file('p', 'pw'),
    ])
    expect(s.httpTokens).toEqual(['a', 'b'])
    expect(s.resp?.passwords).toEqual(['pw'])
  })
})

describe('edge credentials', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.3.4.5', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::ffff:10.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(false)
  })

  it('reads one secret per line, skipping blanks and comments, and matches any of them', () => {
    const secrets = readCredentialFile(file('s', ' one \r\n\n# comment\ntwo\n'), '--x')
    expect(secrets).toEqual(['one', 'two'])
    const set = new CredentialSet(secrets)
    expect(set.matches('one')).toBe(true)
    expect(set.matches(Buffer.from('two'))).toBe(true)
    expect(set.matches('three')).toBe(false)
    expect(set.matches('')).toBe(false)
    expect(() => readCredentialFile(join(dir, 'missing'), '--x')).toThrow('cannot read --x')
  })
})
