/**
 * libp2p private-network connection protector (pnet, PSK v1), wire-compatible with
 * `@libp2p/pnet` and the libp2p spec (pnet/Private-Networks-PSK-V1.md): each side sends
 * a random 24-byte nonce in the clear, then every byte in each direction is XORed with
 * XSalsa20(pre-shared key, that direction's sender nonce).
 *
 * Replaces `preSharedKey` from `@libp2p/pnet` 3.0.27, whose `xsalsa20` WebAssembly
 * cipher grows its process-wide memory on nearly every update once it has grown once and
 * never gives cipher slots back, until an uncaught `RangeError: WebAssembly.Memory.grow():
 * Maximum memory size exceeded` (issue 15, item 4; cause, options and tests:
 * docs/decisions/pnet.md). This is the same protector (its nonce exchange and stream
 * wrapper follow `@libp2p/pnet`'s, Apache-2.0 OR MIT) over `pnet-xsalsa20.ts`, whose
 * state is per connection and garbage-collected, wiped when the connection closes.
 */
import type {
  AbortOptions,
  ConnectionProtector,
  Logger,
  MessageStream,
  MultiaddrConnection,
} from '@libp2p/interface'
import { InvalidCryptoExchangeError, InvalidParametersError } from '@libp2p/interface'
import { AbstractMultiaddrConnection, byteStream, type SendResult } from '@libp2p/utils'
import { XSALSA20_KEY_BYTES, XSALSA20_NONCE_BYTES, XSalsa20 } from './pnet-xsalsa20.js'

/** Options of {@link privateNetwork}; `@libp2p/pnet`'s `ProtectorInit` and a key check. */
export interface PrivateNetworkInit {
  /** The swarm key: `/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex digits, one per line. */
  psk: Uint8Array
  /** Milliseconds the nonce exchange may take when the caller gives no signal (1000). */
  timeout?: number
  /**
   * Called once an inbound connection's first decrypted bytes proved that the remote
   * holds the key (see {@link MSS_HEADER}); the inbound gate releases its slot then.
   */
  onKeyProven?: (connection: MultiaddrConnection) => void
}

/**
 * What every libp2p peer sends first through the protected stream, in both directions:
 * the multistream-select header, `/multistream/1.0.0\n` with its length prefix (0x13).
 * The connection upgrade always begins with multistream-select choosing the encrypter
 * (libp2p connections spec; `@libp2p/multistream-select` `select` and `handle`), and a
 * listener answers with the header before anything else. Decrypted with the wrong key,
 * these 20 bytes are random: a match has probability 2^-160. So the protector knows after
 * 20 bytes whether the remote holds the key, and an outsider's stream is cut there,
 * before anything of it is decrypted further or buffered (docs/decisions/outsider-flood.md).
 */
export const MSS_HEADER = new TextEncoder().encode('\x13/multistream/1.0.0\n')

/**
 * Decodes a pnet v1 swarm key (as `@libp2p/pnet` does: tag line, codec line, base16 key).
 * @throws InvalidParametersError when the third line is not 32 bytes of hex
 */
export function decodeSwarmKey(psk: Uint8Array): Uint8Array {
  const lines = new TextDecoder().decode(psk).split(/\r\n|\r|\n/)
  const hex = lines[2] ?? ''
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== 2 * XSALSA20_KEY_BYTES)
    throw new InvalidParametersError('Your private shared key is invalid')
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

class PrivateNetworkProtector implements ConnectionProtector {
  readonly [Symbol.toStringTag] = 'meshcache/pnet'
  readonly #psk: Uint8Array
  readonly #timeout: number
  readonly #onKeyProven: ((connection: MultiaddrConnection) => void) | undefined

  constructor(init: PrivateNetworkInit) {
    this.#psk = decodeSwarmKey(init.psk)
    this.#timeout = init.timeout ?? 1000
    this.#onKeyProven = init.onKeyProven
  }

  async protect(connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    if (connection == null) {
      throw new InvalidParametersError('No connection for the handshake provided')
    }
    const maConn = connection as MultiaddrConnection
    const log = maConn.log.newScope('pnet')
    log('protecting the connection')
    const localNonce = crypto.getRandomValues(new Uint8Array(XSALSA20_NONCE_BYTES))
    const opts = options ?? { signal: AbortSignal.timeout(this.#timeout) }
    const bytes = byteStream(maConn)
    const [remote] = await Promise.all([
      bytes.read({ bytes: XSALSA20_NONCE_BYTES, ...opts }),
      bytes.write(localNonce, opts),
    ])
    log('exchanged nonces')
    const onKeyProven = this.#onKeyProven
    return new PrivateStream(bytes.unwrap(), localNonce, remote.subarray(), this.#psk, log, () => {
      log('the remote proved the key')
      if (maConn.direction === 'inbound') onKeyProven?.(maConn)
    })
  }
}

/**
 * The connection seen through the pnet ciphers: decrypts what arrives, encrypts what is
 * sent. Until the first {@link MSS_HEADER}.length bytes have arrived and matched, only
 * those are decrypted: a mismatch cuts the connection with the rest of the chunk unread.
 */
class PrivateStream extends AbstractMultiaddrConnection {
  readonly #maConn: MultiaddrConnection
  readonly #inbound: XSalsa20
  readonly #outbound: XSalsa20
  /** Header bytes matched so far; `MSS_HEADER.length` once the key is proven. */
  #matched = 0
  readonly #onKeyProven: () => void

  constructor(
    maConn: MultiaddrConnection,
    localNonce: Uint8Array,
    remoteNonce: Uint8Array,
    psk: Uint8Array,
    log: Logger,
    onKeyProven: () => void,
  ) {
    super({ log, remoteAddr: maConn.remoteAddr, direction: maConn.direction })
    this.#maConn = maConn
    this.#inbound = new XSalsa20(remoteNonce, psk)
    this.#outbound = new XSalsa20(localNonce, psk)
    this.#onKeyProven = onKeyProven

    maConn.addEventListener('message', (evt) => {
      // A throw here would escape an event listener (an uncaught exception, as the
      // WebAssembly cipher's did): fail this connection instead.
      try {
        const data = evt.data
        if (data instanceof Uint8Array) {
          this.#receive(data)
        } else {
          for (const buf of data) if (!this.#receive(buf)) break
        }
      } catch (err) {
        this.abort(err as Error)
      }
    })
    // resume sending when the underlying connection can accept more data
    maConn.addEventListener('drain', () => {
      this.onMuxerDrain()
    })
    maConn.addEventListener('close', (evt) => {
      if (evt.error != null) {
        if (evt.local) this.abort(evt.error)
        else this.onRemoteReset()
      } else {
        this.onTransportClosed()
      }
    })
    // Nothing is read or sent after the transport closed: wipe the key material.
    this.addEventListener('close', () => {
      this.#inbound.destroy()
      this.#outbound.destroy()
    })
  }

  /** Decrypts and delivers `data`; false when the key check failed and the stream is aborted. */
  #receive(data: Uint8Array): boolean {
    let rest = data
    if (this.#matched < MSS_HEADER.length) {
      const n = Math.min(rest.length, MSS_HEADER.length - this.#matched)
      const head = this.#inbound.update(rest.subarray(0, n))
      for (let i = 0; i < n; i++) {
        if (head[i] !== MSS_HEADER[this.#matched + i]) {
          this.abort(new InvalidCryptoExchangeError('the remote does not hold the network key'))
          return false
        }
      }
      this.#matched += n
      this.onData(head)
      if (this.#matched === MSS_HEADER.length) this.#onKeyProven()
      rest = rest.subarray(n)
      if (rest.length === 0 || this.status !== 'open') return this.status === 'open'
    }
    this.onData(this.#inbound.update(rest))
    return true
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    await this.#maConn.close(options)
  }

  sendData(data: Parameters<AbstractMultiaddrConnection['sendData']>[0]): SendResult {
    return {
      sentBytes: data.byteLength,
      canSendMore: this.#maConn.send(this.#outbound.update(data.subarray())),
    }
  }

  sendReset(err: Error): void {
    this.#maConn.abort(err)
  }

  sendPause(): void {
    this.#maConn.pause()
  }

  sendResume(): void {
    this.#maConn.resume()
  }
}

/**
 * A libp2p `connectionProtector` for a private network: a drop-in for `@libp2p/pnet`'s
 * `preSharedKey({ psk })`, on the wire the same.
 */
export function privateNetwork(init: PrivateNetworkInit): () => ConnectionProtector {
  return () => new PrivateNetworkProtector(init)
}
