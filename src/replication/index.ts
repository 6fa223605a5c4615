export { type BatchCheckContext, checkBatch } from './batch-check.js'
export { BATCH_FORMAT, decodeBatch, encodeBatch } from './batch-codec.js'
export { WIRE_LIMITS, type WireLimits } from './limits.js'
export {
  OutboundBatcher,
  type OutboundBatcherOptions,
  type PendingBatch,
  recordBytes,
} from './outbound-batcher.js'
export { decodeValue, encodeValue } from './value-codec.js'
export { recordVersion, type WriteBatch, type WriteRecord } from './write-record.js'
