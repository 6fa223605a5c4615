export {
  DEFAULT_MAX_DRIFT_MS,
  HybridClock,
  type HybridClockOptions,
  type PhysicalClock,
} from './hlc.js'
export { compareVersions, formatVersion, parseVersion, type Version } from './version.js'
