/**
 * What one wake-up of an otherwise idle Node process costs on this machine: an empty
 * setInterval at INTERVAL_MS for DURATION_S; CPU per wake-up, user and system.
 * Run: node bench/profile/wake-cost.mjs INTERVAL_MS [DURATION_S] (0: no timer, the floor)
 */
const ms = Number(process.argv[2] ?? 100)
const dur = Number(process.argv[3] ?? 20) * 1000
if (ms > 0) setInterval(() => {}, ms)
const c0 = process.cpuUsage()
const t0 = performance.now()
setTimeout(() => {
  const c = process.cpuUsage(c0)
  const t = performance.now() - t0
  const wakes = ms > 0 ? t / ms : 1
  console.log(
    JSON.stringify({
      intervalMs: ms,
      cpuMsPerS: +((c.user + c.system) / t).toFixed(3),
      usPerWake: ms > 0 ? +((c.user + c.system) / wakes).toFixed(1) : null,
      userUsPerWake: ms > 0 ? +(c.user / wakes).toFixed(1) : null,
      systemUsPerWake: ms > 0 ? +(c.system / wakes).toFixed(1) : null,
    }),
  )
  process.exit(0)
}, dur)
