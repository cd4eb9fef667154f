import { v4 as uuid } from 'uuid';

import type { Binding } from '../config';
import { READS_PROTOCOL } from './messages';
import type { NodeInfo } from './state';

const VERSION = (require('../../package.json') as { version: string }).version;

/**
 * Who this node is. Its id changes when it rejoins after an eviction: the
 * peers forgot the old one, and a fresh id restarts every sequence.
 */
export class Identity {
  private current = uuid();
  private readonly startedAt = Date.now();

  constructor (private readonly bindings: { pub: Binding; router: Binding }) {}

  get id (): string {
    return this.current;
  }

  renew (): void {
    this.current = uuid();
  }

  get info (): NodeInfo {
    return {
      id: this.current,
      protocol: READS_PROTOCOL,
      pub: this.bindings.pub.url,
      router: this.bindings.router.url,
      startedAt: this.startedAt,
      version: VERSION,
    };
  }
}
