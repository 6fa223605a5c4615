/**
 * `meshcache/otel`: OpenTelemetry spans and metrics built on meshcache's
 * `node:diagnostics_channel` tracing channels. Needs `@opentelemetry/api`, an optional
 * peer dependency: the main `meshcache` entry never loads it. Guide: docs/tracing.md.
 * @module
 */
export { OTEL_DEFAULTS } from './defaults.js'
export {
  instrumentOpenTelemetry,
  type OpenTelemetryInstrumentation,
  type OpenTelemetryOptions,
} from './instrument.js'
export { OTEL_NAMES } from './otel-names.js'
