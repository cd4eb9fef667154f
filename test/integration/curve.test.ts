import should from 'should';
import { Dealer, Subscriber, curveKeyPair } from 'zeromq';

import { RedisServer } from '../support/redisServer';
import { CoreNode, eventually } from '../support/coreNode';
import { killAll } from '../support/processes';
import { PROTOCOL_VERSION } from '../../lib/cluster/messages';
import { z85Decode } from '../../lib/cluster/zap';

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function addressOf (binding: string): string {
  return binding.replace('[127.0.0.1:ipv4]', '127.0.0.1');
}

/** frames received by a subscriber within `ms` */
async function listen (sub: Subscriber, ms: number): Promise<number> {
  let received = 0;
  const deadline = Date.now() + ms;
  sub.receiveTimeout = 100;
  while (Date.now() < deadline) {
    try {
      await sub.receive();
      received++;
    }
    catch {
      // receive timeout: keep listening until the deadline
    }
  }
  return received;
}

describe('CURVE authentication and encryption between nodes', function () {
  this.timeout(60000);

  const clusterKeys = curveKeyPair();
  let server: RedisServer;
  let nodes: CoreNode[] = [];

  before(async () => {
    server = await RedisServer.start();
    nodes = await Promise.all([0, 1].map(() => CoreNode.start(server.port, { curve: clusterKeys })));
    await Promise.all(nodes.map(node => node.join()));
  });

  after(() => killAll());

  it('z85Decode decodes ZeroMQ keys to 32 bytes', () => {
    should(z85Decode(clusterKeys.publicKey)).have.length(32);
    should(z85Decode('HelloWorld')).eql(Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]));
    should(() => z85Decode('abc')).throw(/multiple of 5/);
  });

  it('nodes sharing the cluster keys form a cluster and exchange state', async () => {
    const [a, b] = nodes;
    await eventually('healthy pair', async () =>
      (await Promise.all(nodes.map(n => n.status()))).every(s => s.health.ok && s.status.peers.length === 1));
    await a.subscribe('secure', 1, { collection: 'c', filters: [], index: 'i' });
    await eventually('replicated', async () => (await b.status()).rooms.some(r => r.room === 'secure'));
    await a.call({ cmd: 'notify', content: { secret: true }, rooms: [] });
    await b.call({ cmd: 'notify', content: { secret: true }, rooms: ['secure'] });
    await eventually('notified', () => a.notifications.length === 1);
  });

  it('a process without the cluster keys can neither read nor ask anything', async () => {
    const [a] = nodes;
    const bindings = (a.config as { bindings: { pub: string; router: string } }).bindings;

    const plain = new Subscriber({ linger: 0 });
    plain.connect(addressOf(bindings.pub));
    plain.subscribe();

    // knows the server key (public), but presents its own key pair
    const impostorKeys = curveKeyPair();
    const impostor = new Subscriber({
      curvePublicKey: impostorKeys.publicKey, curveSecretKey: impostorKeys.secretKey,
      curveServerKey: clusterKeys.publicKey, linger: 0,
    });
    impostor.connect(addressOf(bindings.pub));
    impostor.subscribe();

    // heartbeats flow every second: 3 s of silence means nothing gets through
    should(await listen(plain, 3000)).equal(0);
    should(await listen(impostor, 1000)).equal(0);

    const dealer = new Dealer({
      curvePublicKey: impostorKeys.publicKey, curveSecretKey: impostorKeys.secretKey,
      curveServerKey: clusterKeys.publicKey, linger: 0, receiveTimeout: 1000,
    });
    dealer.connect(addressOf(bindings.router));
    await dealer.send(JSON.stringify({ from: 'impostor', id: 'x', pub: 'tcp://127.0.0.1:1', router: 'tcp://127.0.0.1:2', t: 'hello', v: PROTOCOL_VERSION }));
    await should(dealer.receive()).be.rejected();

    for (const socket of [plain, impostor, dealer]) {
      socket.close();
    }
    should((await a.status()).status.denied).be.above(0);
  });

  it('a node configured without the keys cannot join: it stays not-ready, the cluster stays ready', async () => {
    const outsider = await CoreNode.start(server.port);
    await outsider.join();
    await sleep(6000);
    const status = await outsider.status();
    should(status.health.ok).be.false();
    should(status.status.peers.every(p => p.counters.invalid === 0)).be.true();
    for (const node of nodes) {
      const { health } = await node.status();
      should(health).eql({ ok: true, reason: null });
    }
    outsider.kill();
  });
});
