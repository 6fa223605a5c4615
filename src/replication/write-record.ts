import type { EntryTuple } from './entry-tuple.js'

/**
 * Many writes from one origin node to one keyspace: the unit the relay carries. Its
 * records are entry tuples whose `node` is the origin (the wire names it once per batch).
 */
export interface WriteBatch {
  /** Node id (libp2p peer id) of the writer: the `node` of every record's version. */
  origin: string
  /** Region of the writer, for lag per region and locality. */
  region: string
  keyspace: string
  /** Wall-clock ms when the origin sent the batch (the trace splits lag into queue and transit). */
  sentAt: number
  /** The origin's incarnation (the relay item's, repeated under its signature). */
  incarnation: number
  /** The batch's sequence number in that incarnation (likewise). */
  seq: number
  /** Values and tombstones (kind 0 or 1), each `node` the origin. */
  records: EntryTuple[]
}
