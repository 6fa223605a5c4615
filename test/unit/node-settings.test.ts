import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveNodeSettings } from '../../src/cli/node-command.js'
import { InvalidOptionError } from '../../src/errors.js'
import { createNetworkKey } from '../../src/mesh/network-key.js'

describe('meshcache node settings: flags over environment over config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshcache-settings-'))
  const config = join(dir, 'config.json')
  writeFileSync(
    config,
    JSON.stringify({
      region: 'from-file',
      http: '127.0.0.1:9001',
      maxEntries: 10,
      peers: ['/ip4/127.0.0.1/tcp/1/p2p/X'],
    }),
  )

  it('reads the config file when nothing else is given', () => {
    const s = resolveNodeSettings({ config }, {})
    expect(s).toMatchObject({
      region: 'from-file',
      http: { host: '127.0.0.1', port: 9001 },
      maxEntries: 10,
      peers: ['/ip4/127.0.0.1/tcp/1/p2p/X'],
    })
  })

  it('lets environment variables override the file and flags override both', () => {
    const env = {
      MESHCACHE_REGION: 'from-env',
      MESHCACHE_MAX_ENTRIES: '20',
      MESHCACHE_LISTEN: '/ip4/127.0.0.2/tcp/0,/ip4/127.0.0.3/tcp/0',
    }
    expect(resolveNodeSettings({ config }, env)).toMatchObject({
      region: 'from-env',
      maxEntries: 20,
      listen: ['/ip4/127.0.0.2/tcp/0', '/ip4/127.0.0.3/tcp/0'],
    })
    expect(
      resolveNodeSettings({ config, region: 'from-flag', maxEntries: '30' }, env),
    ).toMatchObject({ region: 'from-flag', maxEntries: 30 })
  })

  it('has safe defaults: region local, loopback listen and HTTP', () => {
    expect(resolveNodeSettings({}, {})).toMatchObject({
      region: 'local',
      listen: ['/ip4/127.0.0.1/tcp/7946'],
      http: { host: '127.0.0.1', port: 8080 },
      admin: false,
    })
  })

  it('passes wire limits and the HTTP body limit through', () => {
    const f = join(dir, 'limits.json')
    writeFileSync(f, JSON.stringify({ limits: { maxKeyLength: 64, maxValueBytes: 4096 } }))
    expect(resolveNodeSettings({ config: f, maxBodyBytes: '2048' }, {})).toMatchObject({
      limits: { maxKeyLength: 64, maxValueBytes: 4096 },
      maxBodyBytes: 2048,
    })
  })

  it('reads a network key file', () => {
    const keyFile = join(dir, 'mesh.key')
    const key = createNetworkKey()
    writeFileSync(keyFile, key)
    expect(resolveNodeSettings({ networkKeyFile: keyFile }, {}).networkKey).toBe(key)
  })

  it('rejects bad values with messages that say what to do', () => {
    expect(() => resolveNodeSettings({ http: 'nope' }, {})).toThrow(/HOST:PORT/)
    expect(() => resolveNodeSettings({ maxEntries: '-3' }, {})).toThrow(InvalidOptionError)
    expect(() => resolveNodeSettings({ config: join(dir, 'missing.json') }, {})).toThrow(
      /cannot read config file/,
    )
    expect(() => resolveNodeSettings({ networkKeyFile: join(dir, 'missing.key') }, {})).toThrow(
      /network key file/,
    )
    expect(() => resolveNodeSettings({ maxBodyBytes: '0' }, {})).toThrow(/max-body-bytes/)
    const badLimits = join(dir, 'bad-limits.json')
    writeFileSync(badLimits, JSON.stringify({ limits: { maxKeyLength: -1 } }))
    expect(() => resolveNodeSettings({ config: badLimits }, {})).toThrow(/limits.maxKeyLength/)
  })
})
