import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/api/create-cache.js'
import { keyspaceReplica } from '../../src/api/keyspace-replica.js'
import { InvalidMessageError } from '../../src/errors.js'
import { fromWireEntry } from '../../src/mesh/wire-entry.js'
import { WIRE_LIMITS } from '../../src/replication/limits.js'
import { msgpack } from '../../src/replication/value-codec.js'
import { respond } from '../../src/sync/reconcile.js'
import { isSyncEntry, parseSyncRequest, parseSyncResponse } from '../../src/sync/sync-messages.js'

const LIMITS = { maxKeyLength: 64, maxNameLength: 64, maxValueBytes: 1024, maxItems: 100 }

/** Arbitrary msgpack-able junk, shaped like our messages often enough to reach deep checks. */
const junk: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 70 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 8 }),
    fc.record({
      t: fc.constantFrom('root', 'children', 'leaves', 'push', 'x'),
      ks: fc.oneof(fc.constant('default'), fc.string()),
      depth: fc.integer({ min: -1, max: 8 }),
      level: fc.integer({ min: -1, max: 8 }),
      root: tie('value'),
      nodes: tie('value'),
      have: tie('value'),
      entries: tie('value'),
    }),
  ),
})).value

describe('decoders never crash on hostile input (fuzz)', () => {
  it('sync requests: a valid request or InvalidMessageError, and the responder never throws anything else', async () => {
    const cache = await createCache({ nodeId: 'F' })
    for (let i = 0; i < 200; i++) await cache.set(`k${i}`, i)
    const replica = keyspaceReplica(cache.keyspace('default'), cache.clock, {
      drift: 0,
      badValue: 0,
      notAllowed: 0,
    })
    fc.assert(
      fc.property(junk, (raw) => {
        let req: ReturnType<typeof parseSyncRequest>
        try {
          req = parseSyncRequest(msgpack.unpack(msgpack.pack(raw)), LIMITS)
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidMessageError)
          return
        }
        try {
          respond(replica, req)
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidMessageError)
        }
      }),
      { numRuns: 3_000 },
    )
    await cache.close()
  })

  it('get-protocol entries: a decoded entry or InvalidMessageError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          junk,
          fc.tuple(
            fc.string(),
            fc.nat(),
            fc.nat(),
            fc.string(),
            fc.nat(),
            fc.constantFrom(0, 1, 2),
            fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 20 })),
          ),
        ),
        (raw) => {
          try {
            const { entry } = fromWireEntry(raw, WIRE_LIMITS)
            expect(entry.version.node.length).toBeGreaterThan(0)
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidMessageError)
          }
          expect(typeof isSyncEntry(raw, LIMITS)).toBe('boolean')
        },
      ),
      { numRuns: 3_000 },
    )
  })

  it('random bytes through the sync and entry decoders never throw anything but InvalidMessageError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        let raw: unknown
        try {
          raw = msgpack.unpack(bytes)
        } catch {
          return // the rpc layer turns this into InvalidMessageError
        }
        for (const decode of [
          () => parseSyncRequest(raw, LIMITS),
          () => parseSyncResponse(raw, LIMITS),
          () => fromWireEntry(raw, WIRE_LIMITS),
        ]) {
          try {
            decode()
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidMessageError)
          }
        }
      }),
      { numRuns: 3_000 },
    )
  })
})
