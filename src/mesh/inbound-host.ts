import { isIPv4, isIPv6 } from 'node:net'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The host an inbound connection is counted against by the inbound gate
 * (`inbound-gate.ts`): an IPv4 address as it is, an IPv4-mapped IPv6 address as its IPv4
 * address, and any other IPv6 address as its /64 prefix (`2001:db8:0:1::/64`), since one
 * host is routinely given a whole /64 and per-address limits would not bind it.
 * Anything else (a Unix socket, a name) is `other`: they share one budget.
 */
export function inboundHost(addr: Multiaddr): string {
  const first = addr.getComponents()[0]
  const ip = first?.name === 'ip4' || first?.name === 'ip6' ? (first.value ?? '') : ''
  return hostOfIp(ip)
}

/** {@link inboundHost} for an IP address in text form; `other` for anything else. */
export function hostOfIp(ip: string): string {
  if (isIPv4(ip)) return ip
  if (!isIPv6(ip)) return 'other'
  const groups = expandIPv6(ip)
  // ::ffff:a.b.c.d (IPv4-mapped): the IPv4 host behind it.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const v4 = (groups[6]! << 16) | groups[7]!
    return [v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255].join('.')
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a zone and a dotted tail read). */
function expandIPv6(ip: string): number[] {
  let text = ip.split('%')[0]!
  // A dotted IPv4 tail (::ffff:1.2.3.4) is two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)))
  const h = parse(head)
  if (tail === undefined) return h
  const t = parse(tail)
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
}
