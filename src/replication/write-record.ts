/**
 * One replicated write, as it travels: the origin is named once per batch, so a record
 * carries only its stamp. `value` is the msgpack encoding of the value, absent for a
 * tombstone.
 */
export interface WriteRecord {
  key: string
  /** HLC physical ms of the write's version. */
  wall: number
  /** HLC logical counter of the write's version. */
  logical: number
  /** Absolute expiry, wall-clock ms. */
  expiresAt: number
  tombstone: boolean
  /** Encoded value; `undefined` for tombstones. */
  value: Uint8Array | undefined
}

/** Many writes from one origin node to one keyspace: the unit gossipsub carries. */
export interface WriteBatch {
  /** Node id (libp2p peer id) of the writer: the `node` of every record's version. */
  origin: string
  /** Region of the writer, for lag per region and locality. */
  region: string
  keyspace: string
  /** Wall-clock ms when the origin sent the batch (the trace splits lag into queue and transit). */
  sentAt: number
  records: WriteRecord[]
}
