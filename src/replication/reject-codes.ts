/**
 * Why remote input was refused: a closed set, so metric labels and logs never carry text
 * from the wire (a peer cannot create label values).
 */
export const REJECT_CODES = [
  /** A batch without its origin's signature where a check is due (a vouched batch). */
  'unsigned',
  /** Not decodable, or a field of the wrong type or size. */
  'malformed',
  /** A batch whose origin is not the node that signed (or sent) it. */
  'forged-origin',
  /** A stamp further ahead of local time than `maxClockDrift`. */
  'clock-drift',
  /** A batch naming another keyspace than its topic's. */
  'wrong-keyspace',
  /** A write by a node outside the allowlist. */
  'not-allowed',
  /** A value whose bytes are not msgpack. */
  'bad-value',
  /** Applying a message threw (a bug, contained). */
  'apply-error',
  /** A malformed request on one of the request/response protocols. */
  'bad-request',
  /** Input for a keyspace whose `maxTtl` differs on the sending node (a misconfiguration). */
  'config-mismatch',
] as const

/** Why remote input was refused (`'malformed'`, `'forged-origin'`, `'clock-drift'`, ...): a closed set. */
export type RejectCode = (typeof REJECT_CODES)[number]

/** Counts of refused input, one counter per code (all present, zero or not). */
export type RejectCounts = Record<RejectCode, number>

/** A zeroed {@link RejectCounts}. */
export function rejectCounts(): RejectCounts {
  return Object.fromEntries(REJECT_CODES.map((c) => [c, 0])) as RejectCounts
}

/** True when `outcome` names a refusal rather than an admitted entry. */
export function isRejectCode(outcome: string): outcome is RejectCode {
  return (REJECT_CODES as readonly string[]).includes(outcome)
}
