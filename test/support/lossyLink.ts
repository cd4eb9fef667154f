/**
 * Preload for a real Kuzzle node (`node -r <this file, transpiled to
 * JavaScript> .../start-kuzzle-server`, see test/e2e/replay.test.ts): the plugin's
 * 0mq transport loses a share of the notifications this node publishes to
 * its peers, while switched on. Nothing in lib/ knows about it: the
 * Transport class of the plugin's build is decorated when this file loads,
 * before Kuzzle loads the plugin (Node caches modules by real path, so the
 * plugin gets the decorated class).
 *
 * - LOSSY_LINK_PLUGIN_DIR: the plugin's directory (its dist/ is decorated);
 * - LOSSY_LINK_RATE: the share of notification envelopes (`document`,
 *   `user`) lost while the loss is on, 0..1.
 *
 * SIGUSR2 switches the loss on, the next one off, and so on. Each switch is
 * written on stderr: `lossy link: on`, then `lossy link: off, lost <n> of
 * <m> notification(s)`.
 */
import * as fs from 'fs';
import * as path from 'path';

interface TransportLike {
  publish (this: TransportLike, topic: string, body: string): void;
}
interface TransportModule {
  Transport: { prototype: TransportLike };
}
interface MessagesModule {
  decode (frame: Buffer, maxSize: number, sender?: string): { t: string };
}

/** the envelope types this preload may lose */
const NOTIFICATIONS = new Set(['document', 'user']);

function install (): void {
  const pluginDir = process.env.LOSSY_LINK_PLUGIN_DIR;
  const rate = Number(process.env.LOSSY_LINK_RATE);
  if (!pluginDir || !(rate >= 0 && rate <= 1)) {
    throw new Error('lossy link preload: LOSSY_LINK_PLUGIN_DIR and LOSSY_LINK_RATE (0..1) must be set');
  }
  const dist = path.join(fs.realpathSync(pluginDir), 'dist', 'cluster');
  const { Transport } = require(path.join(dist, 'transport.js')) as TransportModule;
  // the plugin's own codec reads what it sent, compact notifications included
  const { decode } = require(path.join(dist, 'messages.js')) as MessagesModule;
  const envelopeType = (body: string): string => decode(Buffer.from(body), Number.MAX_SAFE_INTEGER, 'this node').t;

  let on = false;
  let lost = 0;
  let seen = 0;
  const publish = Transport.prototype.publish;
  Transport.prototype.publish = function (this: TransportLike, topic: string, body: string): void {
    if (on && NOTIFICATIONS.has(envelopeType(body))) {
      seen++;
      if (Math.random() < rate) {
        lost++;
        return;
      }
    }
    publish.call(this, topic, body);
  };

  process.on('SIGUSR2', () => {
    on = !on;
    if (on) {
      lost = 0;
      seen = 0;
      process.stderr.write('lossy link: on\n');
    }
    else {
      process.stderr.write(`lossy link: off, lost ${lost} of ${seen} notification(s)\n`);
    }
  });
}

install();
