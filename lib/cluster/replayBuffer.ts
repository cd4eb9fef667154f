import type { ReplayConfig } from '../config';
import type { Clock } from './clock';

interface Kept {
  seq: number;
  /** the encoded envelope, as it was sent */
  body: string;
  at: number;
}

/** one destination's notifications, oldest first; those before `head` are gone */
interface Stream {
  kept: Kept[];
  head: number;
  bytes: number;
}

export interface BufferSize {
  messages: number;
  bytes: number;
}

/** compact the array once this many entries are gone */
const COMPACT_AT = 4096;

/**
 * What this node sent to each node, by notification number, so that a link
 * that lost some can have them again. Bounded in count, bytes and age; the
 * oldest go first. A string's length counts as its bytes (an estimate: the
 * envelopes are JSON, mostly ASCII).
 */
export class ReplayBuffer {
  private readonly streams = new Map<string, Stream>();

  constructor (
    private readonly clock: Clock,
    private readonly limits: Pick<ReplayConfig, 'maxMessages' | 'maxBytes' | 'maxAge'>,
  ) {}

  keep (node: string, seq: number, body: string): void {
    if (this.limits.maxMessages === 0) {
      return;
    }
    let stream = this.streams.get(node);
    if (!stream) {
      stream = { bytes: 0, head: 0, kept: [] };
      this.streams.set(node, stream);
    }
    stream.kept.push({ at: this.clock.now(), body, seq });
    stream.bytes += body.length;
    this.trim(stream);
  }

  /**
   * The envelopes numbered first..last still kept for `node`, in order; at
   * most `maxBytes` of them (but at least one), the first ones.
   */
  range (node: string, first: number, last: number, maxBytes = Infinity): string[] {
    const stream = this.streams.get(node);
    if (!stream) {
      return [];
    }
    this.trim(stream);
    const bodies: string[] = [];
    let bytes = 0;
    for (let i = stream.head; i < stream.kept.length; i++) {
      const { body, seq } = stream.kept[i];
      if (seq > last || (bodies.length > 0 && bytes + body.length > maxBytes)) {
        break;
      }
      if (seq >= first) {
        bodies.push(body);
        bytes += body.length;
      }
    }
    return bodies;
  }

  size (node: string): BufferSize {
    const stream = this.streams.get(node);
    if (!stream) {
      return { bytes: 0, messages: 0 };
    }
    this.trim(stream);
    return { bytes: stream.bytes, messages: stream.kept.length - stream.head };
  }

  forget (node: string): void {
    this.streams.delete(node);
  }

  clear (): void {
    this.streams.clear();
  }

  private trim (stream: Stream): void {
    const { maxAge, maxBytes, maxMessages } = this.limits;
    const oldest = this.clock.now() - maxAge;
    while (stream.head < stream.kept.length) {
      const first = stream.kept[stream.head];
      const count = stream.kept.length - stream.head;
      if (count <= maxMessages && stream.bytes <= maxBytes && first.at >= oldest) {
        break;
      }
      stream.bytes -= first.body.length;
      stream.head++;
    }
    if (stream.head === stream.kept.length) {
      stream.kept = [];
      stream.head = 0;
    }
    else if (stream.head >= COMPACT_AT) {
      stream.kept = stream.kept.slice(stream.head);
      stream.head = 0;
    }
  }
}
