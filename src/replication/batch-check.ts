import type { RejectCode } from './reject-codes.js'
import type { WriteBatch } from './write-record.js'

/** Who a batch must say it comes from: what the relay item's header (or the connection) says. */
export interface BatchClaim {
  /** The origin the item header names, or the peer a direct write came from. */
  origin: string
  /** The item header's incarnation and sequence number (absent for a direct write). */
  incarnation?: number
  seq?: number
}

/** Why a batch was refused: a code for counters, a sentence for logs. */
export interface BatchRejection {
  code: RejectCode
  why: string
}

/**
 * The envelope's verdict on a decoded batch, after {@link decodeBatch}'s structural
 * checks: its signed body must name the origin (and, relayed, the incarnation and
 * sequence number) that carried it, so no relay can pass off one node's batch as
 * another's or renumber it. Changes nothing; the records' own checks (allowlist, clock
 * drift, sizes) are the replica's, in `admitRemote`.
 * @returns undefined when the batch may be admitted and relayed, else why not
 */
export function checkBatch(batch: WriteBatch, claim: BatchClaim): BatchRejection | undefined {
  if (batch.origin !== claim.origin)
    return { code: 'forged-origin', why: `origin ${batch.origin} carried as ${claim.origin}` }
  if (
    (claim.incarnation !== undefined && batch.incarnation !== claim.incarnation) ||
    (claim.seq !== undefined && batch.seq !== claim.seq)
  )
    return { code: 'forged-origin', why: `batch ${batch.seq} of ${batch.origin} renumbered` }
  return undefined
}
