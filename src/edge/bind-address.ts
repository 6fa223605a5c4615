/**
 * Which listen addresses stay on this host. An edge (HTTP, RESP) bound to any other
 * address must be protected by a credential: the node refuses to start otherwise.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net'

/**
 * True when `host` is a loopback address or name: `localhost`, 127.0.0.0/8, `::1` (and
 * IPv4-mapped `::ffff:127.x.y.z`). `0.0.0.0` and `::` (every interface) are not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h.endsWith('.localhost')) return true
  if (isIPv4(h)) return h.startsWith('127.')
  if (isIPv6(h)) {
    if (h === '::1' || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(h)) return true
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
    return mapped !== null && mapped[1]!.startsWith('127.')
  }
  return false
}
