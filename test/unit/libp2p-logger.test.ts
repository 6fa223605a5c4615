import { describe, expect, it } from 'vitest'
import { libp2pLogger } from '../../src/mesh/libp2p-node.js'

describe('libp2pLogger', () => {
  it('is silent unless DEBUG names libp2p: no logger per stream to build', () => {
    for (const debug of [undefined, '', 'meshcache:*', 'express:*,meshcache:mesh']) {
      const logger = libp2pLogger(debug)
      expect(logger, String(debug)).toBeDefined()
      const log = logger!.forComponent('libp2p:connection')
      expect(log.enabled).toBe(false)
      // Scopes are the same silent logger: nothing is made per stream.
      expect(log.newScope('mss:select')).toBe(log)
      expect(() => log('x %s', 1)).not.toThrow()
      expect(() => log.error('x')).not.toThrow()
      expect(() => log.trace('x')).not.toThrow()
    }
  })

  it("leaves libp2p's own logger when DEBUG asks for libp2p or everything", () => {
    for (const debug of ['libp2p:*', 'meshcache:*,libp2p:connection', '*'])
      expect(libp2pLogger(debug), debug).toBeUndefined()
  })
})
