import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseKeyspaceSpec, parseNodeSettings } from '../../src/cli/node-settings.js'
import { InvalidOptionError } from '../../src/errors.js'
import { createNetworkKey } from '../../src/mesh/network-key.js'

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('meshcache node settings: flags over environment over config file over defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-settings-'))
  const config = join(dir, 'config.json')
  writeFileSync(
    config,
    JSON.stringify({
      region: 'from-file',
      http: '127.0.0.1:9001',
      maxEntries: 10,
      peers: ['/ip4/127.0.0.1/tcp/1/p2p/X'],
      keyspaces: { sessions: { maxTtl: '7d', maxEntries: 500 } },
    }),
  )

  it('reads the config file when nothing else is given', () => {
    expect(parseNodeSettings(['--config', config])).toMatchObject({
      region: 'from-file',
      http: { host: '127.0.0.1', port: 9001 },
      maxEntries: 10,
      peers: ['/ip4/127.0.0.1/tcp/1/p2p/X'],
      keyspaces: { sessions: { maxTtl: '7d', maxEntries: 500 } },
    })
  })

  it('lets environment variables override the file and flags override both', () => {
    vi.stubEnv('MESHCACHE_REGION', 'from-env')
    vi.stubEnv('MESHCACHE_MAX_ENTRIES', '20')
    vi.stubEnv('MESHCACHE_LISTEN', '/ip4/127.0.0.2/tcp/0,/ip4/127.0.0.3/tcp/0')
    expect(parseNodeSettings(['--config', config])).toMatchObject({
      region: 'from-env',
      maxEntries: 20,
      listen: ['/ip4/127.0.0.2/tcp/0', '/ip4/127.0.0.3/tcp/0'],
    })
    expect(
      parseNodeSettings(['--config', config, '--region', 'from-flag', '--max-entries', '30']),
    ).toMatchObject({ region: 'from-flag', maxEntries: 30 })
  })

  it('has safe defaults: region local, loopback listen and HTTP, info logs', () => {
    expect(parseNodeSettings([])).toMatchObject({
      region: 'local',
      listen: ['/ip4/127.0.0.1/tcp/7946'],
      peers: [],
      http: { host: '127.0.0.1', port: 8080 },
      admin: false,
      logLevel: 'info',
      keyspaces: {},
    })
    expect(parseNodeSettings([]).allowPeers).toBeUndefined()
  })

  it('repeated and comma-separated list flags replace the default', () => {
    expect(
      parseNodeSettings([
        '--listen',
        '/ip4/127.0.0.9/tcp/1',
        '--listen',
        '/ip4/127.0.0.9/tcp/2,/ip4/127.0.0.9/tcp/3',
      ]).listen,
    ).toEqual(['/ip4/127.0.0.9/tcp/1', '/ip4/127.0.0.9/tcp/2', '/ip4/127.0.0.9/tcp/3'])
  })

  it('passes wire limits and the HTTP body limit through', () => {
    const f = join(dir, 'limits.json')
    writeFileSync(f, JSON.stringify({ limits: { maxKeyLength: 64, maxValueBytes: 4096 } }))
    expect(parseNodeSettings(['--config', f, '--max-body-bytes', '2048'])).toMatchObject({
      limits: { maxKeyLength: 64, maxValueBytes: 4096 },
      maxBodyBytes: 2048,
    })
  })

  it('reads a network key file', () => {
    const keyFile = join(dir, 'mesh.key')
    const key = createNetworkKey()
    writeFileSync(keyFile, key)
    expect(parseNodeSettings(['--network-key-file', keyFile]).networkKey).toBe(key)
  })

  it('merges --keyspace options over the config file, and MESHCACHE_ADMIN=0 is off', () => {
    vi.stubEnv('MESHCACHE_ADMIN', '0')
    const s = parseNodeSettings([
      '--config',
      config,
      '--keyspace',
      'sessions:defaultTtl=5m',
      '--keyspace',
      'carts',
    ])
    expect(s.keyspaces).toEqual({
      sessions: { maxTtl: '7d', maxEntries: 500, defaultTtl: '5m' },
      carts: {},
    })
    expect(s.admin).toBe(false)
    vi.stubEnv('MESHCACHE_ADMIN', '1')
    expect(parseNodeSettings([]).admin).toBe(true)
    expect(parseKeyspaceSpec('a:maxEntries=5,maxTtl=2h')).toEqual([
      'a',
      { maxEntries: 5, maxTtl: '2h' },
    ])
  })

  it('rejects bad values with messages that say what to do', () => {
    expect(() => parseNodeSettings(['--http', 'nope'])).toThrow(/HOST:PORT/)
    expect(() => parseNodeSettings(['--max-entries', '-3'])).toThrow(InvalidOptionError)
    expect(() => parseNodeSettings(['--config', join(dir, 'missing.json')])).toThrow(
      /cannot read config file/,
    )
    expect(() => parseNodeSettings(['--network-key-file', join(dir, 'missing.key')])).toThrow(
      /network key file/,
    )
    expect(() => parseNodeSettings(['--max-body-bytes', '0'])).toThrow(/max-body-bytes/)
    expect(() => parseNodeSettings(['--default-ttl', 'soon'])).toThrow(
      "--default-ttl must be a duration like '500ms', '30s', '5m', '1h' or a number of seconds, got 'soon'",
    )
    expect(() => parseNodeSettings(['--default-ttl', '2d'])).toThrow(
      '--default-ttl 2d is longer than --max-ttl (1d); raise --max-ttl or lower --default-ttl',
    )
    expect(() => parseNodeSettings(['--keyspace', 'bad name:maxTtl=1d'])).toThrow(/keyspace name/)
    expect(() => parseNodeSettings(['--keyspace', 'a:color=red'])).toThrow(/unknown option 'color'/)
    expect(() => parseNodeSettings(['--keyspace', 'a:maxTtll=2d'])).toThrow(
      "unknown option 'maxTtll' (did you mean 'maxTtl'?)",
    )
    expect(() => parseNodeSettings(['--keyspace', 'a:defaultTtl=2d,maxTtl=1d'])).toThrow(
      'keyspace a: defaultTtl 2d is longer than maxTtl (1d); raise maxTtl or lower defaultTtl',
    )
    const badLimits = join(dir, 'bad-limits.json')
    writeFileSync(badLimits, JSON.stringify({ limits: { maxKeyLength: -1 } }))
    expect(() => parseNodeSettings(['--config', badLimits])).toThrow(/limits.maxKeyLength/)
    const unknown = join(dir, 'unknown.json')
    writeFileSync(unknown, JSON.stringify({ colour: 'red' }))
    expect(() => parseNodeSettings(['--config', unknown])).toThrow(/unknown setting 'colour'/)
    const typo = join(dir, 'typo.json')
    writeFileSync(typo, JSON.stringify({ maxTTL: '1d' }))
    expect(() => parseNodeSettings(['--config', typo])).toThrow(
      "unknown setting 'maxTTL' (did you mean 'maxTtl'?)",
    )
  })

  it('duration flags take what HTTP takes: a bare number is seconds, or a unit', () => {
    const s = parseNodeSettings([
      '--default-ttl',
      '300',
      '--max-ttl',
      '86400',
      '--snapshot-interval',
      '2.5',
      '--http-headers-timeout',
      '5',
      '--http-request-timeout',
      '1m',
      '--keyspace',
      'sessions:defaultTtl=60,maxTtl=2h',
    ])
    expect(s).toMatchObject({
      defaultTtl: '300s',
      maxTtl: '86400s',
      snapshotInterval: '2.5s',
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 60_000,
      keyspaces: { sessions: { defaultTtl: '60s', maxTtl: '2h' } },
    })
    const f = join(dir, 'seconds.json')
    writeFileSync(f, JSON.stringify({ defaultTtl: 120, keyspaces: { k: { maxTtl: 3600 } } }))
    expect(parseNodeSettings(['--config', f])).toMatchObject({
      defaultTtl: '120s',
      keyspaces: { k: { maxTtl: '3600s' } },
    })
  })

  it('refuses what would otherwise run with something else than written (hunt, 2026-12-08)', () => {
    const file = (name: string, body: unknown) => {
      const f = join(dir, `${name}.json`)
      writeFileSync(f, JSON.stringify(body))
      return ['--config', f]
    }
    // A config admin that is not a boolean left admin off without a word.
    for (const admin of ['true', 1, 'yes']) {
      expect(() => parseNodeSettings(file('admin', { admin }))).toThrow(
        /config admin must be true or false/,
      )
    }
    expect(parseNodeSettings(file('admin-ok', { admin: true })).admin).toBe(true)
    expect(() => parseNodeSettings(file('dd', { dataDir: true }))).toThrow(
      /config dataDir must be a directory path, got true/,
    )
    expect(() => parseNodeSettings(file('region', { region: { a: 1 } }))).toThrow(
      /config region must be a string/,
    )
    // Counts are decimal: 0x10, 1e3 and 0b1000 were read as 16, 1000 and 8.
    for (const n of ['0x10', '1e3', '0b1000']) {
      expect(() => parseNodeSettings(['--max-entries', n])).toThrow(
        /--max-entries must be a positive integer/,
      )
    }
    expect(parseNodeSettings(['--max-entries', '1000']).maxEntries).toBe(1000)
    // One option of one keyspace set twice by flags: the last one silently won.
    expect(() =>
      parseNodeSettings(['--keyspace', 's:maxTtl=7d', '--keyspace', 's:maxTtl=1d']),
    ).toThrow(/s\.maxTtl is already set by --keyspace s:maxTtl=7d/)
    expect(() => parseKeyspaceSpec('s:maxTtl=7d,maxTtl=1d')).toThrow(/maxTtl is given twice/)
    expect(
      parseNodeSettings(['--keyspace', 's:maxTtl=7d', '--keyspace', 's:defaultTtl=1d']).keyspaces,
    ).toEqual({
      s: { maxTtl: '7d', defaultTtl: '1d' },
    })
    // HOST:PORT: a host with a colon is an IPv6 address in brackets, nothing else.
    expect(() => parseNodeSettings(['--http', '127.0.88.1:8080:1'])).toThrow(
      /--http must be HOST:PORT/,
    )
    expect(parseNodeSettings(['--http', '[::1]:8080']).http).toEqual({ host: '::1', port: 8080 })
    expect(parseNodeSettings(['--http', '127.0.0.1:8080']).http).toEqual({
      host: '127.0.0.1',
      port: 8080,
    })
    // The flag, not the library's option, is named; and what the user wrote is quoted.
    expect(() => parseNodeSettings(['--default-ttl', '0.0004'])).toThrow(
      /^--default-ttl must be 0 or at least 1 ms \(durations are whole ms\), got '0.0004'$/,
    )
    expect(() => parseNodeSettings(['--snapshot-interval', '10ms'])).toThrow(
      /^--snapshot-interval must be at least 100ms, got 10ms$/,
    )
  })
})
