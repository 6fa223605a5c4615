import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidMessageError } from '../../src/errors.js'
import { createCache } from '../../src/node/create-cache.js'
import { replicaOf } from '../../src/node/internals.js'
import { isEntryTuple } from '../../src/replication/entry-tuple.js'
import { isRejectCode } from '../../src/replication/reject-codes.js'
import { msgpack } from '../../src/replication/value-codec.js'
import { respond } from '../../src/sync/reconcile.js'
import { parseSyncRequest, parseSyncResponse } from '../../src/sync/sync-messages.js'

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
    const replica = replicaOf(cache, 'default')!.syncView('fuzz')
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

  it('entry tuples: the check says yes or no, and an accepted tuple is admitted or refused with a code, never a throw', async () => {
    const cache = await createCache({ nodeId: 'F' })
    const replica = replicaOf(cache, 'default')!
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
          const ok = isEntryTuple(raw, LIMITS)
          expect(typeof ok).toBe('boolean')
          if (!ok) return
          const outcome = replica.admitRemote(raw, 'fuzz')
          expect(
            isRejectCode(outcome) || ['applied', 'stale', 'expired', 'too-large'].includes(outcome),
          ).toBe(true)
        },
      ),
      { numRuns: 3_000 },
    )
    await cache.close()
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
