export { CLOCK_OFFSET_DEFAULTS, ClockOffsets, offsetOf, type TimeSample } from './clock-offsets.js'
export {
  DEFAULT_MAX_DRIFT_MS,
  HybridClock,
  type HybridClockOptions,
  type PhysicalClock,
} from './hlc.js'
export { compareVersions, formatVersion, parseVersion, type Version } from './version.js'
