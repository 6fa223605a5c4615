/**
 * `meshcache/testing`: real meshcache nodes in one process behind a simulated WAN, for
 * the tests of services that embed meshcache. Partitions, slow links and skewed clocks
 * on demand; works in vitest, jest and `node:test`. Guide: docs/testing.md.
 * @module
 */
export { TESTING_DEFAULTS } from './defaults.js'
export type { PartitionOptions } from './partition-plan.js'
export {
  type ConvergedOptions,
  createTestMesh,
  type LinkOptions,
  type TestMesh,
} from './test-mesh.js'
export type {
  TestCacheOptions,
  TestMeshOptions,
  TestNodePlace,
} from './test-mesh-options.js'
