import { Router } from 'zeromq';
import createDebug from 'debug';

const debug = createDebug('kuzzle:cluster:zap');

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
/**
 * A closed handler's endpoint is freed by 0mq's I/O thread a moment later:
 * a handler started right after (a node restarted in the same process)
 * retries its bind for up to 50 × 10 ms.
 */
const BIND_ATTEMPTS = 50;
const BIND_RETRY_MS = 10;
const Z85_CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Z85 (ZeroMQ RFC 32) to bytes */
export function z85Decode (text: string): Buffer {
  if (text.length % 5 !== 0) {
    throw new Error('a Z85 string has a length multiple of 5');
  }
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = Z85_CHARS.indexOf(text[i + j]);
      if (digit === -1) {
        throw new Error(`invalid Z85 character "${text[i + j]}"`);
      }
      value = value * 85 + digit;
    }
    out.writeUInt32BE(value >>> 0, o);
  }
  return out;
}

/**
 * ZAP handler (ZeroMQ RFC 27): with CURVE, only peers presenting the
 * cluster's own public key may connect. Without it, anyone who learned the
 * (public) server key could read the cluster's messages.
 */
export class ZapHandler {
  private readonly router = new Router({ linger: 0 });
  private readonly allowed: Buffer;
  denied = 0;

  constructor (allowedPublicKey: string) {
    this.allowed = z85Decode(allowedPublicKey);
  }

  async start (): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.router.bind(ZAP_ENDPOINT);
        break;
      }
      catch (error) {
        if (attempt >= BIND_ATTEMPTS || (error as { code?: unknown }).code !== 'EADDRINUSE') {
          throw error;
        }
        await new Promise(resolve => setTimeout(resolve, BIND_RETRY_MS));
      }
    }
    void this.serve();
  }

  private async serve (): Promise<void> {
    try {
      for await (const frames of this.router) {
        // [routing id, empty, version, request id, domain, address, identity, mechanism, ...credentials]
        const [routingId, , version, requestId, , address, , mechanism, clientKey] = frames;
        const ok = mechanism?.toString() === 'CURVE' && clientKey !== undefined && clientKey.equals(this.allowed);
        if (!ok) {
          this.denied++;
          debug('denied %s connection from %s', mechanism?.toString(), address?.toString());
        }
        await this.router.send([
          routingId, Buffer.alloc(0), version || Buffer.from('1.0'), requestId || Buffer.alloc(0),
          Buffer.from(ok ? '200' : '400'), Buffer.from(ok ? 'OK' : 'not a cluster key'), Buffer.alloc(0), Buffer.alloc(0),
        ]);
      }
    }
    catch (error) {
      if (!this.router.closed) {
        debug('ZAP handler stopped: %s', (error as Error).message);
      }
    }
  }

  close (): void {
    this.router.close();
  }
}
