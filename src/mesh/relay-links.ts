import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { Timer } from '../clock/clock.js'
import { logger } from '../log.js'
import { FrameReader, FrameWriter } from '../replication/compact-frame.js'
import { FlushTokens } from '../replication/flush-tokens.js'
import { ITEM_KIND, type RelayItem } from '../replication/relay-frame.js'
import { MESH_CONSTANTS } from './defaults.js'
import type { MeshContext } from './mesh-context.js'
import { RELAY_LINK_LIMITS, type RelayLinkCounters } from './relay-link-limits.js'
import { RelayQueue, writableItems } from './relay-queue.js'
import { PROTOCOLS } from './topics.js'

const log = logger('meshcache:relay')

const isBatch = (item: RelayItem): boolean =>
  item.kind === ITEM_KIND.batch || item.kind === ITEM_KIND.vouched

/** One peer's outbound side: queued items, its stream, its flush tokens. */
interface Outbound {
  peer: string
  items: RelayQueue
  stream: Stream | undefined
  writer: ReturnType<typeof lpStream> | undefined
  /** The stream's frame encoder: compact when the peer speaks `/meshcache/relay/2` or newer. */
  frames: FrameWriter | undefined
  /** The stream may carry vouched batches (`/meshcache/relay/3`). */
  vouched: boolean
  opening: Promise<void> | undefined
  /** A flush is scheduled for the end of the turn. */
  scheduled: boolean
  /** The flush running (writing frames), until it settles. */
  running: Promise<void> | undefined
  /** A control item is queued: the next frame leaves at the end of the turn, tokens or not. */
  urgent: boolean
  timer: Timer | undefined
  /** Items that may wait (see {@link RelayLinks.send}'s `holdMs`) leave when this fires, if nothing took them sooner. */
  held: Timer | undefined
  tokens: FlushTokens
  /** Monotonic ms when the frame being written was handed to the stream (undefined: none). */
  writingSince: number | undefined
  /** Monotonic ms when the last frame carrying a write batch was written (-Infinity: none). */
  batchWritten: number
}

/**
 * The links relays talk over: one long-lived stream per peer and direction
 * (`/meshcache/relay/3`, compact frames that may carry vouched batches; `/2`, compact
 * frames, and `/1` with peers that speak only those), length-prefixed frames of many items. Items queued for a peer
 * leave together: at the end of the turn when a flush token is left, else at the next
 * token, so a trickle is never delayed and a busy link carries about one frame per
 * interval whatever the number of items. A link inside the region earns a token every
 * `minFlushIntervalMs` (up to `flushBurst`); a link to another region one every
 * `wanFlushIntervalMs` with none in reserve: frames cost the same whatever they carry,
 * and a hub's links to the other hubs are where a fleet of writers each writing a
 * little would otherwise make one frame per item (docs/decisions/wan-pacing.md). A
 * control item (a ping) leaves at the end of the turn whatever the tokens: its timing
 * measures the link. No stream is opened per message or per round.
 */
export class RelayLinks {
  private readonly out = new Map<string, Outbound>()
  readonly counters: RelayLinkCounters = {
    framesOut: 0,
    framesIn: 0,
    itemsOut: 0,
    bytesOut: 0,
    bytesIn: 0,
    itemsDropped: 0,
    framesFailed: 0,
    vouchedWithheld: 0,
  }
  /** Bytes of replicated items sent to peers of other regions (WAN bytes; link control left out). */
  wanBytesOut = 0
  private closed = false

  /**
   * @param onFrame - a frame arrived from `from`, to be read with its stream's `reader`
   *   (the bytes are the caller's to keep)
   * @param protocols - what this node speaks, preferred first (tests play an older peer)
   */
  constructor(
    private readonly ctx: MeshContext,
    private readonly onFrame: (from: string, frame: Uint8Array, reader: FrameReader) => void,
    private readonly protocols: readonly string[] = [
      PROTOCOLS.relayVouched,
      PROTOCOLS.relayCompact,
      PROTOCOLS.relay,
    ],
  ) {}

  /** Serves inbound relay streams: every frame read goes to `onFrame`. */
  async start(): Promise<void> {
    await this.ctx.node.handle(
      [...this.protocols],
      (stream, connection) => {
        void this.readAll(stream, connection.remotePeer)
      },
      {
        maxInboundStreams: RELAY_LINK_LIMITS.maxInboundStreams,
        maxOutboundStreams: RELAY_LINK_LIMITS.maxInboundStreams,
      },
    )
  }

  /**
   * Queues `item` for `peer`; it leaves with the next frame to that peer. An item that may
   * wait (`holdMs` > 0: a member's periodic announcement, which nothing waits for) rides
   * with the next frame the link makes anyway (a ping, a batch), and leaves on its own
   * after `holdMs` at most: an idle node wakes for one frame carrying several of them
   * instead of one frame each (issue 25).
   */
  send(peer: string, item: RelayItem, holdMs = 0): void {
    if (this.closed) return
    const o = this.outbound(peer)
    this.counters.itemsDropped += o.items.push(item)
    if (item.kind === ITEM_KIND.control) {
      o.urgent = true
      this.now(o)
    } else if (holdMs > 0) this.later(o, holdMs)
    else this.schedule(o)
  }

  /** A flush within `holdMs` (unless one is on its way already). */
  private later(o: Outbound, holdMs: number): void {
    if (o.scheduled || o.running !== undefined || o.timer !== undefined || o.held !== undefined)
      return
    o.held = this.ctx.clock.after(holdMs, () => {
      o.held = undefined
      // Not to a peer that is not connected: the next connection's first frame takes it.
      if (this.ctx.peers.get(o.peer)?.connected === true) this.schedule(o)
    })
  }

  /** The outbound side of `peer`, made on first use. */
  private outbound(peer: string): Outbound {
    let o = this.out.get(peer)
    if (o === undefined) {
      o = {
        peer,
        items: new RelayQueue(),
        stream: undefined,
        writer: undefined,
        frames: undefined,
        vouched: false,
        opening: undefined,
        scheduled: false,
        running: undefined,
        urgent: false,
        timer: undefined,
        held: undefined,
        tokens: new FlushTokens(this.ctx.clock.monotonic(), MESH_CONSTANTS.flushBurst),
        writingSince: undefined,
        batchWritten: Number.NEGATIVE_INFINITY,
      }
      this.out.set(peer, o)
    }
    return o
  }

  /** Writes `frame` as is to `peer` (tests that play a broken or hostile peer). */
  async sendRaw(peer: string, frame: Uint8Array): Promise<void> {
    const o = this.outbound(peer)
    await this.open(o)
    await o.writer?.write(frame)
  }

  /**
   * Monotonic ms when a frame carrying a write batch was last written to `peer`
   * (-Infinity: never): link control pings a link that carried this node's writes and
   * brought nothing back since, settled or not.
   */
  batchWrittenAt(peer: string): number {
    return this.out.get(peer)?.batchWritten ?? Number.NEGATIVE_INFINITY
  }

  /** Items queued for `peer` and not yet written. */
  queued(peer?: string): number {
    if (peer !== undefined) return this.out.get(peer)?.items.length ?? 0
    let n = 0
    for (const o of this.out.values()) n += o.items.length
    return n
  }

  /** A peer disconnected: its stream is gone (queued items wait for a new one). */
  dropStream(peer: string): void {
    const o = this.out.get(peer)
    if (o === undefined) return
    o.stream = undefined
    o.writer = undefined
    o.frames = undefined
    // Writes on the old connection were answered or not there: the new one starts afresh.
    o.batchWritten = Number.NEGATIVE_INFINITY
    // What waits for a frame waits for the next connection's first one (its ping): a hold
    // running out now would dial the peer that left, past the dial rules.
    o.held?.cancel()
    o.held = undefined
  }

  /**
   * Writes everything queued now, to every peer, tokens or not; resolves once written (or
   * failed). A flush already running is waited for, then what queued behind it is written.
   */
  async flushAll(): Promise<void> {
    await Promise.all(
      [...this.out.values()].map(async (o) => {
        o.timer?.cancel()
        o.timer = undefined
        await o.running
        await this.flush(o)
      }),
    )
  }

  /**
   * Aborts the streams whose frame has been writing for longer than `writeTimeoutMs` (the
   * peer stopped reading): the write fails, its items go to anti-entropy, the next frame
   * opens a new stream. Called from the node's periodic tick: one check per interval
   * instead of a timer per frame.
   */
  abortStuck(): void {
    const now = this.ctx.clock.monotonic()
    for (const o of this.out.values()) {
      if (o.writingSince === undefined || now - o.writingSince < RELAY_LINK_LIMITS.writeTimeoutMs)
        continue
      log('relay frame to %s stuck for %d ms: aborting the stream', o.peer, now - o.writingSince)
      o.stream?.abort(new Error('relay write timed out'))
    }
  }

  /** Stops: no more sends; streams are closed. */
  close(): void {
    this.closed = true
    for (const o of this.out.values()) {
      o.timer?.cancel()
      o.held?.cancel()
      o.stream?.close().catch(() => o.stream?.abort(new Error('closing')))
    }
  }

  /** Flush at the end of the turn when a token is left, else at the next token. */
  private schedule(o: Outbound): void {
    if (o.urgent) {
      this.now(o)
      return
    }
    if (o.scheduled || o.running !== undefined || o.timer !== undefined) return
    const { intervalMs, burst } = this.pacing(o)
    const wait = o.tokens.waitMs(this.ctx.clock.monotonic(), intervalMs, burst)
    if (wait <= 0) this.now(o)
    else {
      o.timer = this.ctx.clock.after(wait, () => {
        o.timer = undefined
        void this.flush(o)
      })
    }
  }

  /** Flush at the end of the turn, token or not (a flush running takes the items after its frame). */
  private now(o: Outbound): void {
    if (o.scheduled || o.running !== undefined) return
    o.timer?.cancel()
    o.timer = undefined
    o.scheduled = true
    this.ctx.clock.soon(() => {
      o.scheduled = false
      void this.flush(o)
    })
  }

  /**
   * A link's pacing: a token every `minFlushIntervalMs`, up to `flushBurst`, inside the
   * region; every `wanFlushIntervalMs` with none in reserve to another region.
   */
  private pacing(o: Outbound): { intervalMs: number; burst: number } {
    const region = this.ctx.peers.get(o.peer)?.region
    return region !== undefined && region !== this.ctx.region
      ? { intervalMs: this.ctx.opts.wanFlushIntervalMs, burst: 1 }
      : { intervalMs: this.ctx.opts.minFlushIntervalMs, burst: MESH_CONSTANTS.flushBurst }
  }

  /** Writes what is queued for `o` (the flush already running, if one is). */
  private flush(o: Outbound): Promise<void> {
    if (o.running !== undefined) return o.running
    if (o.items.length === 0 || this.closed) return Promise.resolve()
    // What was held leaves with this frame.
    o.held?.cancel()
    o.held = undefined
    o.running = this.drain(o).finally(() => {
      o.running = undefined
      // After a failure (no writer) the items wait for the next send or a flushAll.
      if (o.items.length > 0 && !this.closed && o.writer !== undefined) this.schedule(o)
    })
    return o.running
  }

  /**
   * Writes frames until nothing is queued: a frame takes a token, and what queues while a
   * frame is written goes in the next one straight away (a link slow to drain is already
   * pacing itself).
   */
  private async drain(o: Outbound): Promise<void> {
    const { intervalMs, burst } = this.pacing(o)
    o.tokens.take(this.ctx.clock.monotonic(), intervalMs, burst)
    while (o.items.length > 0 && !this.closed) {
      await this.open(o)
      const writer = o.writer
      if (writer === undefined) return
      const { items, withheld } = writableItems(o.items.take(), o.vouched)
      this.counters.vouchedWithheld += withheld
      if (o.items.length === 0 || items.some((i) => i.kind === ITEM_KIND.control)) o.urgent = false
      if (items.length === 0) continue
      // The stream's encoder, kept across the write (a reconnect may replace o's meanwhile).
      const frames = o.frames!
      const frame = frames.encode(items)
      const started = this.ctx.clock.monotonic()
      // No timer per frame: a write that hangs (the peer reads nothing, the window is
      // full) is cut by `abortStuck`, which the node's periodic tick calls.
      o.writingSince = started
      try {
        await writer.write(frame)
        this.ctx.trace.observe('send', this.ctx.clock.monotonic() - started)
        const c = this.counters
        c.framesOut++
        c.itemsOut += items.length
        c.bytesOut += frame.length
        if (items.some(isBatch)) o.batchWritten = this.ctx.clock.monotonic()
        const region = this.ctx.peers.get(o.peer)?.region
        if (region !== undefined && region !== this.ctx.region)
          this.wanBytesOut += frames.lastReplicationBytes
      } catch (err) {
        this.counters.framesFailed++
        log('relay frame to %s failed: %s', o.peer, (err as Error).message)
        o.stream?.abort(err as Error)
        o.stream = undefined
        o.writer = undefined
        o.frames = undefined
        return
      } finally {
        o.writingSince = undefined
      }
    }
  }

  private async open(o: Outbound): Promise<void> {
    if (o.writer !== undefined && o.stream?.status === 'open') return
    o.opening ??= (async () => {
      try {
        const stream = await this.ctx.node.dialProtocol(
          peerIdFromString(o.peer),
          [...this.protocols],
          { signal: AbortSignal.timeout(RELAY_LINK_LIMITS.openTimeoutMs) },
        )
        o.stream = stream
        o.writer = lpStream(stream, { maxDataLength: RELAY_LINK_LIMITS.maxFrameBytes })
        // A new stream starts a new origin table at both ends.
        o.frames = new FrameWriter(stream.protocol !== PROTOCOLS.relay)
        o.vouched = stream.protocol === PROTOCOLS.relayVouched
      } catch (err) {
        log('cannot open a relay stream to %s: %s', o.peer, (err as Error).message)
        o.stream = undefined
        o.writer = undefined
        o.frames = undefined
      } finally {
        o.opening = undefined
      }
    })()
    await o.opening
  }

  private async readAll(stream: Stream, from: PeerId): Promise<void> {
    const peer = from.toString()
    const reader = lpStream(stream, { maxDataLength: RELAY_LINK_LIMITS.maxFrameBytes })
    const frames = new FrameReader()
    try {
      for (;;) {
        const frame = await reader.read()
        this.counters.framesIn++
        this.counters.bytesIn += frame.byteLength
        this.onFrame(peer, frame.subarray(), frames)
        // A compact frame it could not read leaves the stream's table untrusted: end the
        // stream (the peer's writes fail, and its next stream starts both tables afresh).
        if (frames.isBroken) throw new Error('unreadable compact frame')
      }
    } catch (err) {
      // The stream ended (the peer closed it, the connection went) or sent garbage.
      if (!this.closed) log('relay stream from %s ended: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    }
  }
}
