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
})
