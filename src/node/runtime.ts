import { UnsupportedRuntimeError } from '../errors.js'

/** The Node.js major version meshcache needs (libp2p 3 uses its newer built-ins). */
export const MIN_NODE_MAJOR = 22

/**
 * Fails early and clearly on an old Node.js, rather than deep inside libp2p
 * (`Promise.withResolvers is not a function` on Node 20).
 * @throws UnsupportedRuntimeError
 */
export function checkRuntime(version: string = process.versions.node): void {
  const major = Number(version.split('.')[0])
  if (!(major >= MIN_NODE_MAJOR))
    throw new UnsupportedRuntimeError(
      `meshcache needs Node.js >= ${MIN_NODE_MAJOR} to join a mesh, this is v${version}`,
    )
}
