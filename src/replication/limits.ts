/** Bounds on replicated input, enforced before any work is done on it. */
export interface WireLimits {
  /** Largest encoded batch, bytes. @default 1_048_576 + 65_536 */
  maxBatchBytes: number
  /** Most records in one batch. @default 10_000 */
  maxRecordsPerBatch: number
  /** Longest key, UTF-16 code units. @default 1024 */
  maxKeyLength: number
  /** Largest encoded value, bytes. @default 1_048_576 */
  maxValueBytes: number
  /** Longest keyspace, region or node id string. @default 128 */
  maxNameLength: number
}

/** Defaults of {@link WireLimits}. */
export const WIRE_LIMITS: WireLimits = {
  maxBatchBytes: 1_048_576 + 65_536,
  maxRecordsPerBatch: 10_000,
  maxKeyLength: 1024,
  maxValueBytes: 1_048_576,
  maxNameLength: 128,
}
