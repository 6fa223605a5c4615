/**
 * A clock-skew simulator for one Node.js process: preload it and the process's wall
 * clock (`Date.now`) runs `MESHCACHE_CLOCK_SKEW_MS` ahead (negative: behind). Timers and
 * `performance.now()` are untouched, as on a host whose NTP is off.
 *
 *   MESHCACHE_CLOCK_SKEW_MS=-20000 node --import ./scripts/clock-skew.mjs bin/meshcache.js node ...
 *
 * Used by test/process/clock-skew.test.ts; usable against any service that embeds meshcache.
 */
const skew = Number(process.env.MESHCACHE_CLOCK_SKEW_MS ?? 0)
if (Number.isFinite(skew) && skew !== 0) {
  const realNow = Date.now.bind(Date)
  Date.now = () => realNow() + skew
}
