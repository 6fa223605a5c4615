/**
 * Polls `cond` until it returns true, or fails after `timeoutMs` with `what` in the
 * message. Never a fixed sleep: tests wait for conditions with deadlines.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
