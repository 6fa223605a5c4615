import { describe, expect, it } from 'vitest'
import { ListenError, UnsupportedRuntimeError } from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { checkRuntime } from '../../src/node/runtime.js'

describe('start failures are typed runtime errors, not bad options', () => {
  it('a libp2p address in use is ListenError with one line naming the address and the cause', async () => {
    const a = await createCache({ listen: ['/ip4/127.0.96.1/tcp/0'] })
    try {
      const port = a.addresses()[0]!.split('/')[4]
      const err = await createCache({ listen: [`/ip4/127.0.96.1/tcp/${port}`] }).catch(
        (e: unknown) => e as Error,
      )
      expect(err).toBeInstanceOf(ListenError)
      expect((err as ListenError).code).toBe('ERR_LISTEN')
      expect((err as Error).message).toMatch(
        new RegExp(`cannot listen on /ip4/127.0.96.1/tcp/${port}: .*EADDRINUSE`),
      )
      expect((err as Error).message).not.toContain('\n')
      expect((err as Error).message).not.toContain('faultTolerance')
    } finally {
      await a.close()
    }
  })

  it('an old Node.js is UnsupportedRuntimeError before libp2p is loaded', () => {
    expect(() => checkRuntime('20.20.2')).toThrow(UnsupportedRuntimeError)
    expect(() => checkRuntime('20.20.2')).toThrow(/needs Node.js >= 22.*v20\.20\.2/)
    expect(() => checkRuntime('22.0.0')).not.toThrow()
    expect(() => checkRuntime('24.21.0')).not.toThrow()
  })
})
