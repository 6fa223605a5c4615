import type { RejectCode } from './reject-codes.js'
import type { WriteBatch } from './write-record.js'

/** What a receiver knows when it checks a decoded batch. */
export interface BatchCheckContext {
  /** Peer id that signed the gossipsub message (StrictSign): the only node allowed as origin. */
  signer: string
  /** Local wall-clock ms. */
  now: number
  /** Largest lead (ms) a record's stamp may have over local time. */
  maxDrift: number
  /** Keyspace the topic belongs to. */
  topicKeyspace: string
}

/** Why a batch was refused: a code for counters, a sentence for logs. */
export interface BatchRejection {
  code: RejectCode
  why: string
}

/**
 * Semantic checks of a decoded batch, after {@link decodeBatch}'s structural ones.
 * @returns undefined when the batch may be applied and forwarded, else why to reject it
 */
export function checkBatch(batch: WriteBatch, ctx: BatchCheckContext): BatchRejection | undefined {
  // No node can write in another's name: the origin every version names is the signer.
  if (batch.origin !== ctx.signer)
    return { code: 'forged-origin', why: `origin ${batch.origin} is not the signer ${ctx.signer}` }
  if (batch.keyspace !== ctx.topicKeyspace)
    return {
      code: 'wrong-keyspace',
      why: `keyspace ${batch.keyspace} on the topic of ${ctx.topicKeyspace}`,
    }
  const limit = ctx.now + ctx.maxDrift
  for (const r of batch.records) {
    // One broken or hostile clock must not win every conflict forever.
    if (r.wall > limit)
      return {
        code: 'clock-drift',
        why: `record '${r.key}' is stamped ${r.wall - ctx.now} ms in the future`,
      }
  }
  return undefined
}
